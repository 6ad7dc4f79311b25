import pRetry from 'p-retry';
import { ImError, isErrorCode, type ErrorCode } from '../lib/errors.ts';
import { signRequest } from '../logic/notices/request-signature.ts';

/**
 * Clients of the notice API over HTTP: `NoticeApiClient` signs each request as an app (the reference for the
 * signing scheme, logic/notices/request-signature.ts); `OperatorClient` manages apps, and looks at mobile push, with
 * the operator's token. Bodies are JSON exactly as on the wire (snake_case, as in proto/im/v1/notices.proto and
 * push/mobile/admin-http.ts).
 */

export type Priority = 'high' | 'normal' | 'low';
export type Scope = 'unicast' | 'multicast' | 'tag' | 'broadcast' | 'read';
export type NoticeState = 'scheduled' | 'firing' | 'sent' | 'cancelled' | 'expired';

export type NoticeTarget = { users: string[] } | { tag: string } | { all: true };

export interface NoticeContent {
  title: string;
  body: string;
  data?: Record<string, string>;
  image_url?: string;
  sound?: string;
  category?: string;
  collapse_key?: string;
}

export interface SendNoticeRequest {
  /** The app's idempotency key: sending it again answers with the first notice. */
  message_id: string;
  target: NoticeTarget;
  content: NoticeContent;
  priority?: Priority;
  deliver_at_ms?: number;
  expire_at_ms?: number;
  ttl_sec?: number;
}

export interface NoticeStatus {
  id: string;
  app_id: string;
  message_id: string;
  state: NoticeState;
  target_kind: 'users' | 'tag' | 'all';
  tag: string;
  priority: Priority;
  created_at_ms: number;
  deliver_at_ms: number;
  expire_at_ms: number;
  fired_at_ms: number;
  cancelled_at_ms: number;
  counts: { targeted: number; stored: number; delivered: number; read: number };
  recipients: { user: string; seq: number; read: boolean }[];
  /** False when this answers a message_id sent before. */
  created: boolean;
  content: NoticeContent;
  first_delivery_ms: number;
}

export interface NoticeList {
  notices: NoticeStatus[];
  /** Set when more follow: pass it as `after`. */
  next?: string;
}

export interface RateLimits {
  requests_per_second: number;
  recipients_per_second: number;
}

export interface AppInfo {
  id: string;
  name: string;
  scopes: Scope[];
  created_at_ms: number;
  rate_limits: RateLimits;
  revoked_at_ms?: number;
}

export interface AppList {
  apps: AppInfo[];
  next?: string;
}

export interface NewApp {
  name: string;
  scopes: Scope[];
  rate_limits?: Partial<RateLimits>;
}

/** A device's push registration as the operator sees it (never its token). */
export interface PushDeviceInfo {
  device: string;
  platform: string;
  environment: string;
  previews: boolean;
  updated_at_ms: number;
}

/** A push that was refused until the last try. */
export interface DeadLetter {
  id: string;
  user: string;
  device: string;
  platform: string;
  reason: string;
  attempts: number;
  at_ms: number;
}

export interface DeadLetterList {
  dead_letters: DeadLetter[];
  /** Set ('' or absent otherwise) when more follow: pass it as `after`. */
  next?: string;
}

/** The most dead letters one replay (and one page of the list) takes. */
export const MAX_DEAD_LETTERS_PER_CALL = 500;

const TIMEOUT_MS = 30_000;

/** Sends the notice calls signed as app `appId`. */
export class NoticeApiClient {
  constructor(private readonly options: { baseUrl: string; appId: string; secret: string; timeoutMs?: number }) {}

  /** Accepts a notice (201) or answers with the first one for a message_id sent before (200, `created` false). */
  send(notice: SendNoticeRequest): Promise<NoticeStatus> {
    return this.call('POST', '/v1/notices', notice);
  }

  get(id: string): Promise<NoticeStatus> {
    return this.call('GET', `/v1/notices/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<NoticeStatus> {
    return this.call('DELETE', `/v1/notices/${encodeURIComponent(id)}`);
  }

  list(page: { state?: string; after?: string; limit?: number } = {}): Promise<NoticeList> {
    return this.call('GET', `/v1/notices${query(page)}`);
  }

  /** Tags users for this app (and untags them), for notices sent to the tag. */
  tag(tag: string, change: { add?: string[]; remove?: string[] }): Promise<{ added: number; removed: number }> {
    return this.call('POST', `/v1/tags/${encodeURIComponent(tag)}`, {
      add: change.add ?? [],
      remove: change.remove ?? [],
    });
  }

  /** Starts rebuilding the search index from the inbox store; `started` false while a rebuild runs already. */
  startSearchReindex(): Promise<SearchReindexStatus & { started: boolean }> {
    return this.call('POST', '/v1/admin/search/reindex', {});
  }

  searchReindexStatus(): Promise<SearchReindexStatus> {
    return this.call('GET', '/v1/admin/search/reindex');
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { baseUrl, appId, secret, timeoutMs } = this.options;
    const url = new URL(path, baseUrl);
    const text = body === undefined ? '' : JSON.stringify(body);
    // Signed as the URL will put it on the request line (new URL may have percent-encoded parts of `path`).
    const signed = () => {
      try {
        return signRequest({ appId, secret, method, path: url.pathname + url.search, body: text });
      } catch (err) {
        // An app id (or path) the server would refuse: said before anything is sent.
        throw new ImError('INVALID_ARGUMENT', (err as Error).message, { cause: err });
      }
    };
    // Every request of this API may be sent again (a notice by its message_id), signed anew (a new nonce).
    return whenReachable(() => request<T>(method, url, text, signed(), timeoutMs));
  }
}

/**
 * `send` tried again a few times, with backoff, while the server cannot be reached or is overloaded (UNAVAILABLE:
 * a connection refused or closed under the request, a 503). The requests of this API are safe to repeat.
 */
function whenReachable<T>(send: () => Promise<T>): Promise<T> {
  return pRetry(send, {
    retries: 2,
    minTimeout: 200,
    factor: 3,
    randomize: true,
    shouldRetry: ({ error }) => error instanceof ImError && error.code === 'UNAVAILABLE',
  });
}

/** A revoked sign-in: `device` null for every device of the user. */
export interface SignInRevocation {
  user: string;
  device: string | null;
  revoked_at_ms: number;
}

/** Where a rebuild of the search index is (`error` only when it failed). */
export interface SearchReindexStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  scanned: number;
  applied: number;
  started_at_ms: number;
  finished_at_ms: number;
  error?: string;
}

/** Manages apps, looks at mobile push, revokes sign-ins and rebuilds the search index, with the operator's token. */
export class OperatorClient {
  constructor(private readonly options: { baseUrl: string; token: string; timeoutMs?: number }) {}

  /** A new app and its secret, which the server shows this once. */
  createApp(app: NewApp): Promise<AppInfo & { secret: string }> {
    return this.call('POST', '/v1/admin/apps', app);
  }

  /** One page of apps in id order, revoked ones included (never their secrets). */
  listApps(page: { after?: string; limit?: number } = {}): Promise<AppList> {
    return this.call('GET', `/v1/admin/apps${query(page)}`);
  }

  revokeApp(id: string): Promise<AppInfo> {
    return this.call('DELETE', `/v1/admin/apps/${encodeURIComponent(id)}`);
  }

  /** Sends a notice as app `appId` (its scopes and rates apply), as NoticeApiClient.send does for the app itself. */
  sendNotice(appId: string, notice: SendNoticeRequest): Promise<NoticeStatus> {
    return this.call('POST', appNotices(appId), notice);
  }

  /** One page of app `appId`'s notices (the app needs the `read` scope). */
  listNotices(appId: string, page: { state?: string; after?: string; limit?: number } = {}): Promise<NoticeList> {
    return this.call('GET', `${appNotices(appId)}${query(page)}`);
  }

  getNotice(appId: string, id: string): Promise<NoticeStatus> {
    return this.call('GET', `${appNotices(appId)}/${encodeURIComponent(id)}`);
  }

  cancelNotice(appId: string, id: string): Promise<NoticeStatus> {
    return this.call('DELETE', `${appNotices(appId)}/${encodeURIComponent(id)}`);
  }

  /** The devices of `user` registered for mobile push. */
  listDevices(user: string): Promise<{ devices: PushDeviceInfo[] }> {
    return this.call('GET', `/v1/admin/push/devices${query({ user })}`);
  }

  /** One page of the push dead letters in id order (limit: the server's default 50, at most 500). */
  listDeadLetters(page: { after?: string; limit?: number } = {}): Promise<DeadLetterList> {
    return this.call('GET', `/v1/admin/push/dead-letters${query(page)}`);
  }

  /** Sends these dead letters' pushes again (1 to 500 ids); `replayed` counts the ids that were still listed. */
  replayDeadLetters(ids: string[]): Promise<{ replayed: number }> {
    return this.call('POST', '/v1/admin/push/dead-letters/replay', { ids });
  }

  /** Refuses every token of the user's device (or, without one, all their devices) issued until now. */
  revokeSignIn(user: string, device?: string): Promise<SignInRevocation> {
    return this.call('POST', '/v1/admin/auth/revocations', device === undefined ? { user } : { user, device });
  }

  /** The sign-in revocations in force. */
  listRevocations(): Promise<{ revocations: SignInRevocation[] }> {
    return this.call('GET', '/v1/admin/auth/revocations');
  }

  /** Starts rebuilding the search index from the inbox store; `started` false while a rebuild runs already. */
  startSearchReindex(): Promise<SearchReindexStatus & { started: boolean }> {
    return this.call('POST', '/v1/admin/search/reindex', {});
  }

  searchReindexStatus(): Promise<SearchReindexStatus> {
    return this.call('GET', '/v1/admin/search/reindex');
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { baseUrl, token, timeoutMs } = this.options;
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers = { authorization: `Bearer ${token}` };
    const send = () => request<T>(method, new URL(path, baseUrl), text, headers, timeoutMs);
    // Creating an app is the one request that is not safe to repeat: a second try could make a second app.
    return method === 'POST' && path === '/v1/admin/apps' ? send() : whenReachable(send);
  }
}

/** The operator's path to an app's notices. */
function appNotices(appId: string): string {
  return `/v1/admin/apps/${encodeURIComponent(appId)}/notices`;
}

/** "?k=v&…" of the parameters given ('' when none). */
function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

async function request<T>(
  method: string,
  url: URL,
  body: string,
  headers: Record<string, string>,
  timeoutMs = TIMEOUT_MS,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === '' ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === '' ? undefined : body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // fetch says only "fetch failed"; its cause says why (e.g. ECONNREFUSED).
    const why = [err, (err as Error).cause].map((e) => (e instanceof Error ? e.message : '')).filter(Boolean);
    throw new ImError('UNAVAILABLE', `${method} ${url.href}: ${why.join(': ')}`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) throw errorOf(res, text);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ImError('INTERNAL', `${method} ${url.href}: HTTP ${res.status} with a body that is not JSON`, {
      cause: err,
    });
  }
}

/** An error answer as ImError: the server's code, the request field it names (if any), and Retry-After. */
function errorOf(res: Response, text: string): ImError {
  let parsed: { code?: unknown; message?: unknown; field?: unknown } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not the API's JSON (e.g. a proxy's page): described by the status alone.
  }
  const known = typeof parsed.code === 'string' && isErrorCode(parsed.code);
  const code = known ? (parsed.code as ErrorCode) : codeOfStatus(res.status);
  let message = typeof parsed.message === 'string' ? parsed.message : `HTTP ${res.status} ${text.slice(0, 200)}`;
  // A code this client does not know yet is kept in the message rather than lost.
  if (!known && typeof parsed.code === 'string') message = `${parsed.code}: ${message}`;
  const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
  return new ImError(code, message, {
    field: typeof parsed.field === 'string' ? parsed.field : undefined,
    retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
  });
}

function codeOfStatus(status: number): ErrorCode {
  const codes: Record<number, ErrorCode> = {
    400: 'INVALID_ARGUMENT',
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    413: 'TOO_LARGE',
    429: 'RATE_LIMITED',
  };
  return codes[status] ?? (status >= 500 ? 'UNAVAILABLE' : 'INTERNAL');
}
