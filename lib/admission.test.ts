import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission } from './admission.ts';
import { ImError } from './errors.ts';

/** A call that finishes when the test says so. */
function gated() {
  let open!: () => void;
  const done = new Promise<void>((resolve) => (open = resolve));
  return { done, open };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Admission', () => {
  it('runs at most `concurrency` calls at once, the rest in arrival order', async () => {
    const gate = new Admission('test', { concurrency: 2, maxWaitMs: 60_000 });
    const calls = Array.from({ length: 5 }, () => gated());
    const started: number[] = [];
    const results = calls.map((c, i) =>
      gate.run(async () => {
        started.push(i);
        await c.done;
        return i;
      }),
    );
    await settle();
    assert.deepEqual(started, [0, 1]);
    calls[1]!.open();
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
    for (const c of calls) c.open();
    assert.deepEqual(await Promise.all(results), [0, 1, 2, 3, 4]);
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
  });

  it('drops a waiting call whose client left before its turn, without running it', async () => {
    const gate = new Admission('test', { concurrency: 1, maxWaitMs: 60_000 });
    const first = gated();
    const running = gate.run(() => first.done);
    let ran = false;
    let wanted = true;
    const dropped = gate.run(
      () => Promise.resolve(void (ran = true)),
      () => wanted,
    );
    wanted = false;
    first.open();
    await running;
    await assert.rejects(dropped, (err: ImError) => err.code === 'UNAVAILABLE');
    assert.equal(ran, false);
  });

  it('refuses at once, with a retry hint, a call that would wait longer than maxWaitMs; admits again once drained', async () => {
    const gate = new Admission('test', { concurrency: 1, maxWaitMs: 50 });
    // Teach it the pace: calls of about 40 ms.
    for (let i = 0; i < 40; i++) await gate.run(() => new Promise((r) => setTimeout(r, 40)));
    const slow = Array.from({ length: 4 }, () => gated());
    const admitted = slow.map((c) => gate.run(() => c.done));
    await settle();
    // Three wait behind one running call of ~40 ms each: ~120 ms expected, over the 50 ms bound.
    assert.ok(gate.expectedWaitMs() > 50, `expected wait ${gate.expectedWaitMs()} ms`);
    let ran = false;
    const refused = await gate
      .admit(() => Promise.resolve(void (ran = true)))
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(refused instanceof ImError);
    assert.equal(refused.code, 'UNAVAILABLE');
    assert.ok(refused.retryAfterMs !== undefined && refused.retryAfterMs >= 250, `hint ${refused.retryAfterMs}`);
    assert.equal(ran, false);
    for (const c of slow) c.open();
    await Promise.all(admitted);
    assert.equal(await gate.admit(() => Promise.resolve('served')), 'served');
  });
});
