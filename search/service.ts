import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ImError } from '../lib/errors.ts';
import { readableScopes, type ScopeSources } from './readable-scopes.ts';
import type { DocKind, SearchIndex, SearchOrder, SearchPage, SearchRequest } from './search-index.ts';

/** What a client may ask: everything but the user and their scopes, which the service decides. */
export type SearchQuery = Omit<SearchRequest, 'user' | 'scopes' | 'order' | 'limit'> & {
  order?: SearchOrder;
  limit?: number;
};

/** The search API as its callers (the gateway's frame and HTTP handlers) see it. */
export interface SearchApi {
  search(user: string, query: SearchQuery): Promise<SearchPage>;
}

export interface SearchServiceOptions {
  /** Searches of one user per second, WebSocket and HTTP together (default 10). */
  perUserPerSecond?: number;
}

export const DEFAULT_SEARCH_LIMIT = 20;

/**
 * The search service: a user's query, narrowed to what they may read (their scopes, computed here from the stores
 * sync reads, never taken from the request), against the index. Each user has a budget of searches per second; past
 * it, RATE_LIMITED with a retry hint (a 429 with Retry-After over HTTP).
 */
export class Search implements SearchApi {
  private readonly rate: RateLimiterMemory;
  private readonly perSecond: number;

  constructor(
    private readonly index: SearchIndex,
    private readonly sources: ScopeSources,
    options: SearchServiceOptions = {},
  ) {
    this.perSecond = options.perUserPerSecond ?? 10;
    this.rate = new RateLimiterMemory({ points: this.perSecond, duration: 1 });
  }

  async search(user: string, query: SearchQuery): Promise<SearchPage> {
    await this.admit(user);
    const scopes = await readableScopes(user, this.sources);
    const request: SearchRequest = {
      ...query,
      user,
      scopes,
      order: query.order ?? 'newest',
      limit: query.limit ?? DEFAULT_SEARCH_LIMIT,
    };
    return this.index.search(request);
  }

  private async admit(user: string): Promise<void> {
    try {
      await this.rate.consume(user);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      throw new ImError('RATE_LIMITED', `at most ${this.perSecond} searches of one user per second`, {
        retryAfterMs: Math.max(1, res.msBeforeNext),
      });
    }
  }
}

/** A kind or order as a client spelt it ('' or absent: unset); anything else is INVALID_ARGUMENT naming the field. */
export function kindOf(value: string | undefined): DocKind | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'dm' || value === 'group' || value === 'notice') return value;
  throw new ImError('INVALID_ARGUMENT', 'search kind must be dm, group or notice', { field: 'kind' });
}

export function orderOf(value: string | undefined): SearchOrder | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'newest' || value === 'relevance') return value;
  throw new ImError('INVALID_ARGUMENT', 'search order must be "newest" or "relevance"', { field: 'order' });
}
