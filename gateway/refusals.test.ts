import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Refusals } from './refusals.ts';

/** A logger whose lines are kept, parsed. */
function recordingLog() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'warn' }, sink), lines };
}

describe('Refusals', () => {
  it('logs who was refused and why, ten lines per reason per window, never more whatever the flood', async () => {
    const { log, lines } = recordingLog();
    const refusals = new Refusals(log);
    for (let i = 0; i < 1_000; i++) refusals.record('rate_limited', { user: 'hog', device: 'd1', connId: `c${i}` });
    refusals.record('auth', { user: 'eve', device: 'd2', code: 'TOKEN_EXPIRED', detail: 'token expired' });
    await new Promise((r) => setImmediate(r));
    const limited = lines.filter((l) => l.reason === 'rate_limited');
    assert.equal(limited.length, 10);
    assert.deepEqual(
      { user: limited[0]!.user, device: limited[0]!.device, msg: limited[0]!.msg },
      { user: 'hog', device: 'd1', msg: 'refused' },
    );
    const auth = lines.find((l) => l.reason === 'auth')!;
    assert.deepEqual([auth.user, auth.device, auth.code], ['eve', 'd2', 'TOKEN_EXPIRED']);
    assert.ok(!JSON.stringify(lines).includes('v1.'), 'no token in any line');
  });
});
