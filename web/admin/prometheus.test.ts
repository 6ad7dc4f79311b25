import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePrometheus, sumOf } from './prometheus.ts';

const TEXT = `# HELP im_notices_total Notices by app, priority and outcome
# TYPE im_notices_total counter
im_notices_total{app="app_1",priority="high",outcome="accepted"} 3
im_notices_total{app="app_2",priority="normal",outcome="accepted"} 4
im_notices_total{app="app_2",priority="normal",outcome="refused"} 1

# TYPE im_gateway_connections gauge
im_gateway_connections 7
im_hop_seconds_bucket{le="+Inf",hop="bus.to_logic"} 12
im_hop_seconds_sum{hop="bus.to_logic"} 0.006
im_hop_seconds_count{hop="bus.to_logic"} 12 1700000000000
odd{label="with \\"quotes\\", a } brace, a \\\\ and a\\nnewline"} 1.5e3
not a sample line
broken{label="unterminated} 1
nan_gauge NaN
`;

describe('the Prometheus text parser', () => {
  const samples = parsePrometheus(TEXT);

  it('reads names, labels and values, and skips comments, blank and broken lines', () => {
    assert.equal(samples.length, 9);
    assert.deepEqual(samples[0], {
      name: 'im_notices_total',
      labels: { app: 'app_1', priority: 'high', outcome: 'accepted' },
      value: 3,
    });
    assert.deepEqual(samples[3], { name: 'im_gateway_connections', labels: {}, value: 7 });
    assert.equal(samples[4]?.value, 12);
    assert.deepEqual(samples[4]?.labels, { le: '+Inf', hop: 'bus.to_logic' });
  });

  it('ignores a timestamp after the value', () => {
    assert.equal(samples[6]?.name, 'im_hop_seconds_count');
    assert.equal(samples[6]?.value, 12);
  });

  it('unescapes quotes, backslashes and newlines in label values, and a brace inside quotes', () => {
    assert.deepEqual(samples[7], {
      name: 'odd',
      labels: { label: 'with "quotes", a } brace, a \\ and a\nnewline' },
      value: 1500,
    });
  });

  it('reads NaN and infinities', () => {
    assert.ok(Number.isNaN(samples[8]?.value));
    assert.deepEqual(
      parsePrometheus('a +Inf\nb -Inf').map((s) => s.value),
      [Infinity, -Infinity],
    );
  });

  it('sums the samples of a name whose labels match', () => {
    assert.equal(sumOf(samples, 'im_notices_total'), 8);
    assert.equal(sumOf(samples, 'im_notices_total', { outcome: 'accepted' }), 7);
    assert.equal(sumOf(samples, 'im_notices_total', { app: 'app_2', outcome: 'accepted' }), 4);
    assert.equal(sumOf(samples, 'missing'), 0);
  });
});
