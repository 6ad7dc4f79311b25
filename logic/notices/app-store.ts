import type { Page, PageRequest } from '../group-store.ts';

export type { Page, PageRequest };

/** What an app may do through the notice API: send to one user, to a list, to a tag, to everyone; read back. */
export type Scope = 'unicast' | 'multicast' | 'tag' | 'broadcast' | 'read';

/** Every scope, in the order the service stores them. */
export const SCOPES: readonly Scope[] = ['unicast', 'multicast', 'tag', 'broadcast', 'read'];

/** Per-app budgets the notice API enforces. */
export interface RateLimits {
  requestsPerSecond: number;
  /** Recipients named or reached per second, summed over requests (a broadcast counts what it reaches). */
  recipientsPerSecond: number;
}

/** A business system allowed to send system notices through the signed HTTP API. */
export interface App {
  /** `app_` and 20 characters of lower-case Crockford base32 (ASCII, so JS order is byte order). */
  id: string;
  name: string;
  scopes: Scope[];
  /**
   * The HMAC-SHA256 key (32 random bytes, base64url). Stored as is: verifying a signature needs the key itself,
   * so it cannot be hashed like a password. Only the service's `createApp` and `secretOf` hand it out.
   */
  secret: string;
  createdAtMs: number;
  /** Set once the app was revoked; absent while it is active. */
  revokedAtMs?: number;
  rateLimits: RateLimits;
}

/**
 * The registry of apps (port).
 *
 * - `create` stores the app as given and fails if the id exists (ids are fresh random ids, so that means a bug),
 *   leaving the existing app as it was.
 * - `get` returns the app (a copy), revoked ones included with their `revokedAtMs`, so a caller can tell an unknown
 *   app from a revoked one; undefined for an unknown id. `scopes` come back in the order they were stored.
 * - `list` pages by id, sorted as JS sorts, revoked apps included: only ids strictly after `after`, at most `limit`
 *   (at least 1) apps; `next` is the last id shown when more follow, absent otherwise.
 * - `revoke` marks the app revoked and returns it as it is then. Idempotent: the first revocation's time stays,
 *   also when two revocations race. An unknown id returns undefined and creates nothing.
 * - Apps are never deleted: a revoked id stays known (and refused) for as long as the registry lives.
 */
export interface AppStore {
  create(app: App): Promise<void>;
  get(id: string): Promise<App | undefined>;
  list(page: PageRequest): Promise<Page<App>>;
  revoke(id: string, atMs: number): Promise<App | undefined>;
}

/** A deep copy, so that no caller shares an adapter's (or another caller's) arrays and objects. */
export function copyApp(app: App): App {
  return { ...app, scopes: [...app.scopes], rateLimits: { ...app.rateLimits } };
}
