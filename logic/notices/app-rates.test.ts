// Per-app budgets counted in this process and in the real Redis of `npm run engines` (started if needed; never
// skipped), where every logic process of a cluster shares them.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ImError } from '../../lib/errors.ts';
import { connectRedis, deleteByPrefix } from '../../test/redis.ts';
import { AppRates, type RateStore } from './app-rates.ts';
import type { AppInfo } from './apps.ts';

const app = (requestsPerSecond: number, recipientsPerSecond = 1000): AppInfo => ({
  id: `app_${randomUUID().replaceAll('-', '').slice(0, 20)}`,
  name: 'orders',
  scopes: ['unicast'],
  createdAtMs: 1,
  rateLimits: { requestsPerSecond, recipientsPerSecond },
});

/** How many of the charges went through; every refusal is RATE_LIMITED with a time to wait. */
async function granted(charges: Promise<void>[]): Promise<number> {
  const results = await Promise.allSettled(charges);
  for (const r of results) {
    if (r.status === 'fulfilled') continue;
    assert.ok(r.reason instanceof ImError, String(r.reason));
    assert.equal(r.reason.code, 'RATE_LIMITED');
    assert.ok((r.reason.retryAfterMs ?? 0) > 0, 'says when to come back');
  }
  return results.filter((r) => r.status === 'fulfilled').length;
}

function appRatesContract(name: string, stores: () => Promise<{ a: RateStore; b: RateStore; close(): Promise<void> }>) {
  describe(`AppRates (${name})`, () => {
    let a: AppRates;
    let b: AppRates;
    let close: () => Promise<void>;
    before(async () => {
      const s = await stores();
      [a, b, close] = [new AppRates(s.a), new AppRates(s.b), () => s.close()];
    });
    after(() => close());

    it('lets requests/s through up to the budget, charged at once, and refuses the rest with a wait', async () => {
      const orders = app(5);
      assert.equal(await granted(Array.from({ length: 12 }, () => a.charge(orders, 1))), 5);
    });

    it('budgets recipients per minute; a refusal uses none of it', async () => {
      const orders = app(1000, 10); // 600 recipients a minute
      await a.charge(orders, 500);
      await assert.rejects(a.charge(orders, 200), { code: 'RATE_LIMITED' });
      await a.charge(orders, 100);
    });

    it('refuses a single request naming more recipients than a minute allows, as bad input', async () => {
      await assert.rejects(a.charge(app(10, 1), 61), { code: 'INVALID_ARGUMENT', field: 'target' });
    });

    it('keeps apps apart', async () => {
      const [one, two] = [app(2), app(2)];
      assert.equal(await granted([1, 2, 3].map(() => a.charge(one, 1))), 2);
      assert.equal(await granted([1, 2].map(() => a.charge(two, 1))), 2);
    });

    if (name === 'redis') {
      it('shares one budget between processes (two limiters on one Redis)', async () => {
        const orders = app(6);
        const charges = Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).charge(orders, 1));
        assert.equal(await granted(charges), 6);
      });
    }
  });
}

appRatesContract('memory', () =>
  Promise.resolve({ a: { kind: 'memory' }, b: { kind: 'memory' }, close: () => Promise.resolve() }),
);

appRatesContract('redis', async () => {
  const prefix = `test:rates:${randomUUID()}:`;
  const [ra, rb] = [await connectRedis(), await connectRedis()];
  return {
    a: { kind: 'redis', client: ra, prefix },
    b: { kind: 'redis', client: rb, prefix },
    close: async () => {
      await deleteByPrefix(ra, prefix);
      await Promise.all([ra.quit(), rb.quit()]);
    },
  };
});

describe('AppRates on an auto-pipelined Redis client', () => {
  let client: Redis;
  before(() => {
    client = new Redis({ lazyConnect: true, enableAutoPipelining: true });
  });
  after(() => client.disconnect());

  it('refuses it at construction (the limiter’s own commands crash the process under auto-pipelining)', () => {
    assert.throws(() => new AppRates({ kind: 'redis', client, prefix: 'x:' }), /enableAutoPipelining/);
  });
});
