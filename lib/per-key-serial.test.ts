import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PerKeySerial } from './per-key-serial.ts';

describe('PerKeySerial', () => {
  it('runs one key one task at a time in order, other keys alongside, and goes on after a failure', async () => {
    const serial = new PerKeySerial();
    const log: string[] = [];
    const task =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
        if (fail) throw new Error(name);
        return name;
      };
    const a1 = serial.run('a', task('a1', 30, true));
    const a2 = serial.run('a', task('a2', 5));
    const b1 = serial.run('b', task('b1', 5));
    await assert.rejects(a1, /a1/);
    assert.deepEqual(await Promise.all([a2, b1]), ['a2', 'b1']);
    assert.deepEqual(log, ['a1+', 'b1+', 'b1-', 'a1-', 'a2+', 'a2-']);
    await sleep(0);
    assert.equal(serial.size, 0);
  });
});
