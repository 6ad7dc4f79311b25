import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../lib/logger.ts';
import { startRetention } from './retention.ts';

const log = createLogger('silent');
const NOW = Date.UTC(2026, 11, 7);

describe('search retention', () => {
  it('drops what is older than the days kept, at start and every round, and goes on after a failure', async () => {
    const cutoffs: number[] = [];
    let fail = true;
    const retention = startRetention({
      days: 30,
      everyMs: 20,
      now: () => NOW,
      log,
      drop: (cutoffMs) => {
        cutoffs.push(cutoffMs);
        if (fail) {
          fail = false;
          return Promise.reject(new Error('es down'));
        }
        return Promise.resolve(['im-messages-2026.10']);
      },
    });
    await sleep(70);
    await retention.close();
    assert.ok(cutoffs.length >= 2, `${cutoffs.length} rounds`);
    assert.ok(cutoffs.every((c) => c === NOW - 30 * 24 * 3600 * 1000));
  });

  it('never drops anything with 0 days', async () => {
    let called = false;
    const retention = startRetention({ days: 0, log, drop: () => ((called = true), Promise.resolve([])) });
    await retention.close();
    assert.equal(called, false);
  });
});
