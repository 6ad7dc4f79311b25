import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FigureSampler } from './figures.ts';
import { parsePrometheus } from './prometheus.ts';

const metrics = (m: { conns: number; msgs: number; notices: number; sent: number; busSum: number; busCount: number }) =>
  parsePrometheus(`im_gateway_connections ${m.conns}
im_hop_seconds_count{hop="gateway.publish"} ${m.msgs}
im_hop_seconds_count{hop="logic.seq"} 999
im_notices_total{app="a",priority="high",outcome="accepted"} ${m.notices}
im_notices_total{app="a",priority="high",outcome="refused"} 50
im_mobile_pushes_total{provider="apns",outcome="sent"} ${m.sent}
im_mobile_pushes_total{provider="fcm",outcome="sent"} ${m.sent}
im_hop_seconds_sum{hop="bus.to_logic"} ${m.busSum}
im_hop_seconds_count{hop="bus.to_logic"} ${m.busCount}
`);

describe('live figures from successive reads of /metrics', () => {
  it('gives gauges at once and rates only from the second read', () => {
    const sampler = new FigureSampler();
    const first = sampler.next(metrics({ conns: 3, msgs: 10, notices: 1, sent: 0, busSum: 0.01, busCount: 10 }), 0);
    assert.equal(first.connections, 3);
    assert.equal(first.messagesPerSec, null);
    assert.equal(first.busLagMs, null);
    const second = sampler.next(metrics({ conns: 4, msgs: 30, notices: 5, sent: 2, busSum: 0.03, busCount: 20 }), 2000);
    assert.equal(second.connections, 4);
    assert.equal(second.messagesPerSec, 10);
    assert.equal(second.noticesPerSec, 2);
    assert.equal(second.pushesPerSec?.sent, 2, 'both providers summed');
    assert.equal(second.pushesPerSec?.failed, 0);
    assert.ok(Math.abs((second.busLagMs ?? 0) - 2) < 1e-9, `mean lag over the interval: ${second.busLagMs}`);
  });

  it('shows no bus lag when no message crossed the bus, and starts again after a restart', () => {
    const sampler = new FigureSampler();
    const base = { conns: 1, msgs: 100, notices: 1, sent: 0, busSum: 0.5, busCount: 100 };
    sampler.next(metrics(base), 0);
    assert.equal(sampler.next(metrics(base), 1000).busLagMs, null);
    const afterRestart = sampler.next(metrics({ ...base, msgs: 2, busCount: 2, busSum: 0.001 }), 2000);
    assert.equal(afterRestart.messagesPerSec, null, 'no negative rate');
    assert.equal(sampler.next(metrics({ ...base, msgs: 4, busCount: 2, busSum: 0.001 }), 3000).messagesPerSec, 2);
  });
});
