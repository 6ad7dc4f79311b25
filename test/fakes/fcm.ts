import { randomUUID, type KeyObject } from 'node:crypto';
import { Agent, type RequestOptions } from 'node:https';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { verifyJws } from './jws.ts';
import { testTls } from './test-ca.ts';

/** FCM v1 error codes the fake can be told to answer a token with, each with Google's HTTP status. */
const ERRORS = {
  UNREGISTERED: { http: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.' },
  INVALID_ARGUMENT: {
    http: 400,
    status: 'INVALID_ARGUMENT',
    message: 'The registration token is not a valid FCM registration token',
  },
  QUOTA_EXCEEDED: { http: 429, status: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded for the device.' },
  INTERNAL: { http: 500, status: 'INTERNAL', message: 'Internal error encountered.' },
  UNAVAILABLE: { http: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
} as const;

export type FcmAnswer = { error: keyof typeof ERRORS; retryAfterSec?: number };

/** A message the fake accepted, as it arrived (FCM v1 JSON), and over which HTTP version. */
export interface AcceptedFcmMessage {
  token: string;
  message: Record<string, unknown>;
  httpVersion: string;
}

export interface FakeFcmOptions {
  projectId: string;
  /** The service account: its email and the public half of its key, which signs the token grants. */
  clientEmail: string;
  publicKey: KeyObject;
  /** Called with each message accepted, and when, instead of keeping it in `accepted` (benchmarks: no growing list). */
  onAccepted?: (message: AcceptedFcmMessage, atMs: number) => void;
  /** Called with the raw body of every request (token grants too), accepted or not (the canary test). */
  onBody?: (body: Buffer) => void;
}

const TOKEN_URL = 'https://oauth2.googleapis.com/token';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const MESSAGING_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const TTL = /^\d+(?:\.\d{1,9})?s$/;
const MAX_MESSAGE = 4096;

/**
 * Google's OAuth token endpoint and the FCM HTTP v1 send endpoint on 127.0.0.1, TLS with the test CA, HTTP/2 and
 * HTTP/1.1 on one port. The token endpoint grants an access token only for a JWT bearer assertion signed RS256 by
 * the service account's key, with its email as iss, the token URL as aud, the messaging scope and a live iat/exp.
 * `POST /v1/projects/<id>/messages:send` wants a token it granted, this project, a `message` with a `token`, `data`
 * and `android.data` of strings only, an android priority of high or normal, a ttl like "3600s", notification fields
 * of strings, and at most 4096 bytes; otherwise it answers Google's error JSON.
 */
export class FakeFcm {
  readonly accepted: AcceptedFcmMessage[] = [];
  /** Send requests per registration token, accepted or not. */
  readonly requests = new Map<string, number>();
  /** Access tokens granted. */
  grants = 0;
  private readonly scripted = new Map<string, FcmAnswer[]>();
  private readonly accessTokens = new Set<string>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Http2SecureServer,
    private readonly options: FakeFcmOptions,
    /** The test CA's certificate: what a client of the fake must trust. */
    readonly ca: string,
  ) {}

  static async start(options: FakeFcmOptions): Promise<FakeFcm> {
    const { key, cert, ca } = await testTls();
    const server = createSecureServer({ key, cert, allowHTTP1: true });
    const fake = new FakeFcm(server, options, ca);
    server.on('secureConnection', (socket: Socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (req, res) => void fake.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** An agent that takes every connection (to oauth2.googleapis.com and fcm.googleapis.com) to the fake. */
  agent(): Agent {
    return new LoopbackAgent(this.port, this.ca);
  }

  /** The next sends to `token` get these errors, one each, in order; then it is accepted again. */
  answer(token: string, ...answers: FcmAnswer[]): void {
    this.scripted.set(token, [...(this.scripted.get(token) ?? []), ...answers]);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    this.options.onBody?.(raw);
    const body = raw.toString('utf8');
    const host = String(req.headers[':authority'] ?? req.headers.host).replace(/:\d+$/, '');
    const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
      res.end(JSON.stringify(json));
    };
    if (req.method === 'POST' && host === 'oauth2.googleapis.com' && req.url === '/token') {
      const granted = this.grant(new URLSearchParams(body));
      return granted
        ? reply(200, { access_token: granted, expires_in: 3599, token_type: 'Bearer' })
        : reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    }
    const project = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url)?.[1];
    if (req.method !== 'POST' || host !== 'fcm.googleapis.com' || project === undefined) {
      return reply(404, googleError(404, 'NOT_FOUND', `no route ${req.method} ${host}${req.url}`));
    }
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization))?.[1];
    if (!bearer || !this.accessTokens.has(bearer)) {
      return reply(401, googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.'));
    }
    if (project !== this.options.projectId) {
      return reply(403, googleError(403, 'PERMISSION_DENIED', 'Permission denied.', 'SENDER_ID_MISMATCH'));
    }
    const message = parseMessage(body);
    const token = message?.token;
    if (typeof token === 'string') this.requests.set(token, (this.requests.get(token) ?? 0) + 1);
    const invalid = typeof token !== 'string' || token === '' ? 'message.token is required' : checkMessage(message!);
    if (invalid) return reply(400, googleError(400, 'INVALID_ARGUMENT', invalid, 'INVALID_ARGUMENT'));
    const scripted = this.scripted.get(token as string)?.shift();
    if (scripted) {
      const { http, status, message: text } = ERRORS[scripted.error];
      const retryAfter: Record<string, string> =
        scripted.retryAfterSec === undefined ? {} : { 'retry-after': String(scripted.retryAfterSec) };
      const error = googleError(http, status, text, scripted.error);
      if (scripted.error === 'INVALID_ARGUMENT') {
        const violation = { field: 'message.token', description: text };
        error.error.details.push({
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [violation],
        });
      }
      return reply(http, error, retryAfter);
    }
    const accepted = { token: token as string, message: message!, httpVersion: req.httpVersion };
    if (this.options.onAccepted) this.options.onAccepted(accepted, performance.timeOrigin + performance.now());
    else this.accepted.push(accepted);
    return reply(200, { name: `projects/${project}/messages/${randomUUID()}` });
  }

  /** A new access token for a valid JWT bearer grant, or undefined. */
  private grant(form: URLSearchParams): string | undefined {
    if (form.get('grant_type') !== GRANT_TYPE) return undefined;
    const claims = verifyJws(form.get('assertion') ?? '', this.options.publicKey, 'RS256')?.claims;
    const now = Date.now() / 1000;
    const { iss, aud, scope, iat, exp } = claims ?? {};
    const valid =
      iss === this.options.clientEmail &&
      aud === TOKEN_URL &&
      typeof scope === 'string' &&
      scope.split(' ').includes(MESSAGING_SCOPE) &&
      typeof iat === 'number' &&
      typeof exp === 'number' &&
      iat <= now + 60 &&
      exp > now &&
      exp - iat <= 3600;
    if (!valid) return undefined;
    const accessToken = `ya29.fake-${randomUUID()}`;
    this.accessTokens.add(accessToken);
    this.grants += 1;
    return accessToken;
  }
}

/** Routes every connection to the fake's port on 127.0.0.1, keeping the host name for SNI and the certificate check. */
class LoopbackAgent extends Agent {
  constructor(
    private readonly port: number,
    ca: string,
  ) {
    super({ keepAlive: true, maxSockets: 16, ca });
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void) {
    return super.createConnection({ ...options, host: '127.0.0.1', port: this.port }, callback);
  }
}

function googleError(code: number, status: string, message: string, fcmErrorCode?: string) {
  const details: Record<string, unknown>[] = [];
  if (fcmErrorCode)
    details.push({ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: fcmErrorCode });
  return { error: { code, message, status, details } };
}

function parseMessage(body: string): Record<string, unknown> | undefined {
  try {
    const { message } = JSON.parse(body) as { message?: unknown };
    return isObject(message) ? message : undefined;
  } catch {
    return undefined;
  }
}

/** What FCM would refuse in a message to a token, as its error message; undefined when it is well formed. */
function checkMessage(message: Record<string, unknown>): string | undefined {
  if (!isStringMap(message.data)) return 'message.data must map strings to strings';
  const { android, notification } = message;
  if (notification !== undefined && !isStringMap(notification)) return 'message.notification fields must be strings';
  if (android !== undefined) {
    if (!isObject(android)) return 'message.android must be an object';
    const { priority, ttl, collapse_key: collapseKey, data, notification: shown } = android;
    if (priority !== undefined && !(typeof priority === 'string' && /^(high|normal)$/i.test(priority))) {
      return 'invalid android.priority';
    }
    if (ttl !== undefined && !(typeof ttl === 'string' && TTL.test(ttl))) return 'invalid android.ttl';
    if (collapseKey !== undefined && typeof collapseKey !== 'string') return 'invalid android.collapse_key';
    if (data !== undefined && !isStringMap(data)) return 'message.android.data must map strings to strings';
    if (shown !== undefined) {
      if (!isObject(shown)) return 'message.android.notification must be an object';
      const { notification_count: count, ...fields } = shown;
      if (count !== undefined && !Number.isInteger(count)) return 'invalid android.notification.notification_count';
      if (!isStringMap(fields)) return 'message.android.notification fields must be strings';
    }
  }
  if (Buffer.byteLength(JSON.stringify(message)) > MAX_MESSAGE) return 'Android message is too big';
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isStringMap = (value: unknown): boolean =>
  value === undefined || (isObject(value) && Object.values(value).every((v) => typeof v === 'string'));
