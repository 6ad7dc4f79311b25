import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lanes } from './lanes.ts';

describe('Lanes', () => {
  it('runs the highest lane first whenever a slot frees, each lane in its own order', async () => {
    const lanes = new Lanes(1, (err) => assert.fail(String(err)));
    const order: string[] = [];
    const task = (name: string) => () => Promise.resolve(void order.push(name));
    const done = [
      lanes.run('low', task('low-1')),
      lanes.run('low', task('low-2')),
      lanes.run('normal', task('normal-1')),
      lanes.run('high', task('high-1')),
      lanes.run('high', task('high-2')),
    ];
    await Promise.all(done);
    // low-1 took the free slot when it came; everything queued behind it goes by lane.
    assert.deepEqual(order, ['low-1', 'high-1', 'high-2', 'normal-1', 'low-2']);
  });

  it('lets a task queued while others run overtake the lower lanes, and never runs more than allowed at once', async () => {
    const lanes = new Lanes(2, (err) => assert.fail(String(err)));
    let running = 0;
    let most = 0;
    const order: string[] = [];
    const task = (name: string) => async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      order.push(name);
      running--;
    };
    const lows = Array.from({ length: 6 }, (_, i) => lanes.run('low', task(`low-${i}`)));
    await new Promise((r) => setTimeout(r, 2));
    const high = lanes.run('high', task('high'));
    await Promise.all([...lows, high]);
    assert.equal(most, 2);
    assert.ok(order.indexOf('high') <= 3, `high ran as soon as a slot freed: ${order.join(', ')}`);
    await lanes.idle();
  });

  it('settles each run with its task, errors included, and goes on', async () => {
    const errors: unknown[] = [];
    const lanes = new Lanes(1, (err) => errors.push(err));
    await assert.rejects(
      lanes.run('normal', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await lanes.run('normal', () => Promise.resolve(42)), 42);
  });
});
