import { randomBytes } from 'node:crypto';
import { echo } from '../../lib/echo.ts';
import { ImError } from '../../lib/errors.ts';
import { checkGroupName } from '../group-name.ts';
import { SCOPES, type App, type AppStore, type Page, type RateLimits, type Scope } from './app-store.ts';

/** An app as listed or shown: everything but its secret. */
export type AppInfo = Omit<App, 'secret'>;

/** What `createApp` returns: the new app and its secret, which is shown this once (the caller prints it). */
export type CreatedApp = AppInfo & { secret: string };

/**
 * What the signature verifier learns of an app id: undefined for an unknown app (answer 401 "unknown app"), a
 * revoked app with when it was revoked (answer 401 "app revoked"), or an active app with its key, scopes and limits.
 */
export type SecretOf =
  | { status: 'active'; secret: string; app: AppInfo }
  | { status: 'revoked'; revokedAtMs: number; app: AppInfo }
  | undefined;

export interface NewApp {
  name: string;
  scopes: readonly string[];
  rateLimits?: Partial<RateLimits>;
}

/** Longest app name, in characters (code points), as for group names. */
export const APP_NAME_MAX_CHARS = 64;
/** Rate limits of an app created without its own. */
export const DEFAULT_RATE_LIMITS: Readonly<RateLimits> = { requestsPerSecond: 10, recipientsPerSecond: 1_000 };
/** Upper bound of either rate limit: a typo (an extra zero or three) is refused rather than granted. */
export const RATE_LIMIT_MAX = 1_000_000;
/** Apps per page when listing without a limit, and the most one page may ask for. */
export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 500;

/** Lower-case Crockford base32: 32 characters, so a random byte masked to 5 bits picks one uniformly. */
const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz';
const ID_CHARS = 20;
const ID_SHAPE = /^app_[0-9a-hjkmnp-tv-z]{20}$/;

/** `app_` and 20 random base32 characters (100 bits): random, so an id tells nothing of when or how many. */
export function newAppId(): string {
  let id = 'app_';
  for (const byte of randomBytes(ID_CHARS)) id += BASE32[byte & 31]!;
  return id;
}

/** An HMAC-SHA256 key: 32 random bytes, base64url (43 characters). */
export function newAppSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The app registry's operations, for the admin CLI and the notice API: validation, ids and secrets, and the view
 * each caller may have (a secret leaves only through `createApp`, once, and `secretOf`, for the verifier).
 */
export class Apps {
  private readonly now: () => number;

  constructor(
    private readonly store: AppStore,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async createApp(input: NewApp): Promise<CreatedApp> {
    const app: App = {
      id: newAppId(),
      name: checkName(input.name),
      scopes: checkScopes(input.scopes),
      secret: newAppSecret(),
      createdAtMs: this.now(),
      rateLimits: checkRateLimits(input.rateLimits),
    };
    await this.store.create(app);
    return app;
  }

  async listApps({ after = '', limit = LIST_DEFAULT_LIMIT }: { after?: string; limit?: number } = {}): Promise<
    Page<AppInfo>
  > {
    if (typeof after !== 'string') throw new ImError('INVALID_ARGUMENT', 'after must be a string');
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT) {
      throw new ImError(
        'INVALID_ARGUMENT',
        `limit must be an integer from 1 to ${LIST_MAX_LIMIT} (got ${shown(limit)})`,
      );
    }
    const page = await this.store.list({ after, limit });
    const items = page.items.map(info);
    return page.next === undefined ? { items } : { items, next: page.next };
  }

  /** Revokes the app (idempotent: revoking again keeps the first time); NOT_FOUND for an unknown id. */
  async revokeApp(id: string): Promise<AppInfo> {
    const app = ID_SHAPE.test(id) ? await this.store.revoke(id, this.now()) : undefined;
    if (!app) throw new ImError('NOT_FOUND', `app ${echo(id)} not found`);
    return info(app);
  }

  /** What the verifier needs to check a request signed as app `id` (see SecretOf). */
  async secretOf(id: string): Promise<SecretOf> {
    // A value that cannot be an app id costs no read: the header it came from is the client's to choose.
    const app = ID_SHAPE.test(id) ? await this.store.get(id) : undefined;
    if (!app) return undefined;
    if (app.revokedAtMs !== undefined) return { status: 'revoked', revokedAtMs: app.revokedAtMs, app: info(app) };
    return { status: 'active', secret: app.secret, app: info(app) };
  }
}

/** FORBIDDEN unless the app holds `scope`. */
export function checkScope(app: Pick<App, 'id' | 'scopes'>, scope: Scope): void {
  if (!app.scopes.includes(scope)) {
    throw new ImError('FORBIDDEN', `app ${app.id} lacks scope ${scope} (it has: ${app.scopes.join(', ') || 'none'})`);
  }
}

function info(app: App): AppInfo {
  const shown: AppInfo & { secret?: string } = { ...app };
  delete shown.secret;
  return shown;
}

/** The group-name rules (trimmed, not blank, no controls or bidi overrides), with messages naming this field. */
function checkName(name: unknown): string {
  if (typeof name !== 'string') throw new ImError('INVALID_ARGUMENT', 'name must be a string');
  try {
    return checkGroupName(name, APP_NAME_MAX_CHARS);
  } catch (err) {
    if (!(err instanceof ImError)) throw err;
    throw new ImError('INVALID_ARGUMENT', err.message.replace(/^group name/, 'name'), { cause: err });
  }
}

/** At least one known scope; duplicates dropped, kept in SCOPES order. */
function checkScopes(scopes: unknown): Scope[] {
  if (!Array.isArray(scopes) || scopes.length === 0) {
    throw new ImError('INVALID_ARGUMENT', `scopes must be a non-empty list of: ${SCOPES.join(', ')}`);
  }
  for (const scope of scopes as unknown[]) {
    if (typeof scope !== 'string' || !(SCOPES as readonly string[]).includes(scope)) {
      throw new ImError('INVALID_ARGUMENT', `scopes: unknown scope ${shown(scope)} (known: ${SCOPES.join(', ')})`);
    }
  }
  return SCOPES.filter((s) => (scopes as unknown[]).includes(s));
}

function checkRateLimits(limits: Partial<RateLimits> | undefined): RateLimits {
  if (limits !== undefined && (typeof limits !== 'object' || limits === null)) {
    throw new ImError('INVALID_ARGUMENT', 'rateLimits must be an object');
  }
  const checked = { ...DEFAULT_RATE_LIMITS };
  for (const field of ['requestsPerSecond', 'recipientsPerSecond'] as const) {
    const value: unknown = limits?.[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > RATE_LIMIT_MAX) {
      throw new ImError(
        'INVALID_ARGUMENT',
        `rateLimits.${field} must be an integer from 1 to ${RATE_LIMIT_MAX} (got ${shown(value)})`,
      );
    }
    checked[field] = value;
  }
  return checked;
}

/** A value from the caller, bounded for an error message. */
function shown(value: unknown): string {
  return typeof value === 'string' ? echo(value) : echo(String(value));
}
