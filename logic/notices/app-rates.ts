import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ImError } from '../../lib/errors.ts';
import type { AppInfo } from './apps.ts';

/** Where the budgets are counted: this process (embedded) or Redis (every logic process of a cluster together). */
export type RateStore = { kind: 'memory' } | { kind: 'redis'; client: Redis; prefix: string };

/** Recipients are budgeted per minute: one request may name up to a minute's worth (a 10,000-user multicast). */
const RECIPIENT_WINDOW_SEC = 60;

/**
 * Each app's budgets: requests per second and recipients per second (counted over a minute). Past either, the
 * request is refused with RATE_LIMITED and the time until the budget refills; nothing is stored.
 */
export class AppRates {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly store: RateStore) {
    // rate-limiter-flexible defines its own Lua command; an auto-pipelined ioredis client queues it on a pipeline that
    // lacks it and then throws from a callback, killing the process (ioredis#1931).
    if (store.kind === 'redis' && store.client.options.enableAutoPipelining) {
      throw new Error('AppRates needs a Redis client without enableAutoPipelining');
    }
  }

  async charge(app: AppInfo, recipients: number): Promise<void> {
    const { requestsPerSecond, recipientsPerSecond } = app.rateLimits;
    const perMinute = recipientsPerSecond * RECIPIENT_WINDOW_SEC;
    if (recipients > perMinute) {
      throw new ImError(
        'INVALID_ARGUMENT',
        `target names ${recipients} recipients; the app may reach ${perMinute} per minute`,
        { field: 'target' },
      );
    }
    await this.consume(this.limiter('req', requestsPerSecond, 1), app.id, 1, 'requests per second');
    if (recipients > 0) {
      await this.consume(this.limiter('rcpt', perMinute, RECIPIENT_WINDOW_SEC), app.id, recipients, 'recipients');
    }
  }

  private async consume(limiter: RateLimiterAbstract, appId: string, points: number, what: string): Promise<void> {
    try {
      await limiter.consume(appId, points);
    } catch (err) {
      if (!(err instanceof RateLimiterRes))
        throw new ImError(
          'UNAVAILABLE',
          `rate limiter unavailable: ${err instanceof Error ? err.message : String(err)}`,
          {
            cause: err,
          },
        );
      // The limiter counted the refused points: a refused request uses none of the budget.
      await limiter.reward(appId, points).catch(() => undefined);
      throw new ImError('RATE_LIMITED', `app ${appId} is over its ${what} budget`, {
        retryAfterMs: Math.max(1, err.msBeforeNext),
      });
    }
  }

  /** One limiter per budget size (apps with the same limits share it; keys are per app). */
  private limiter(kind: string, points: number, duration: number): RateLimiterAbstract {
    const key = `${kind}:${points}:${duration}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      const keyPrefix = `notice-rate:${key}`;
      limiter =
        this.store.kind === 'memory'
          ? new RateLimiterMemory({ points, duration, keyPrefix })
          : new RateLimiterRedis({
              storeClient: this.store.client,
              points,
              duration,
              keyPrefix: `${this.store.prefix}${keyPrefix}`,
              // While Redis fails a call, this process counts alone rather than refusing every request.
              insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix }),
            });
      this.limiters.set(key, limiter);
    }
    return limiter;
  }
}
