import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ImError } from '../lib/errors.ts';

export interface UserLimitOptions {
  /** Connections one user may hold on one gateway node (a device reconnecting replaces its own and is not counted). */
  connections: number;
  /** GetDiff calls of one user in flight at once, WebSocket and HTTP together. */
  syncsInFlight: number;
  /** `POST /v1/sync` calls of one user per second. */
  httpSyncsPerSecond: number;
}

/** What a refused sync is told to wait before trying again, when no better hint is known. */
const BUSY_RETRY_MS = 200;

/**
 * Limits per user on this node, so that one user (or one stolen token) cannot take what others need: its syncs
 * in flight, its HTTP syncs per second and its connections. Refusals are RATE_LIMITED with a retry hint (a 429 with
 * Retry-After over HTTP). They hold per gateway node: a user spread over many nodes gets each node's share.
 */
export class UserLimits {
  private readonly syncing = new Map<string, number>();
  private readonly httpRate: RateLimiterMemory;

  constructor(readonly options: UserLimitOptions) {
    this.httpRate = new RateLimiterMemory({ points: options.httpSyncsPerSecond, duration: 1 });
  }

  /** Runs a sync of `user` if one of the user's slots is free; RATE_LIMITED otherwise, and nothing runs. */
  async sync<T>(user: string, run: () => Promise<T>): Promise<T> {
    const running = this.syncing.get(user) ?? 0;
    if (running >= this.options.syncsInFlight) {
      throw new ImError('RATE_LIMITED', `at most ${this.options.syncsInFlight} syncs of one user at once`, {
        retryAfterMs: BUSY_RETRY_MS,
      });
    }
    this.syncing.set(user, running + 1);
    try {
      return await run();
    } finally {
      const left = (this.syncing.get(user) ?? 1) - 1;
      if (left > 0) this.syncing.set(user, left);
      else this.syncing.delete(user);
    }
  }

  /** An HTTP sync: within the user's calls per second, then within its slots. */
  async httpSync<T>(user: string, run: () => Promise<T>): Promise<T> {
    try {
      await this.httpRate.consume(user);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      throw new ImError(
        'RATE_LIMITED',
        `at most ${this.options.httpSyncsPerSecond} HTTP syncs of one user per second`,
        {
          retryAfterMs: Math.max(1, res.msBeforeNext),
        },
      );
    }
    return this.sync(user, run);
  }

  /** Refuses a new connection of a user who holds as many as allowed (unless it replaces one of the same device). */
  checkConnection(held: number, replacesOwn: boolean): void {
    if (replacesOwn || held < this.options.connections) return;
    throw new ImError('RATE_LIMITED', `at most ${this.options.connections} connections of one user`, {
      retryAfterMs: 5_000,
    });
  }
}
