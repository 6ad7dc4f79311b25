import { randomUUID, type KeyObject } from 'node:crypto';
import {
  createSecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { verifyJws } from './jws.ts';
import { testTls } from './test-ca.ts';

/** An answer the fake gives one request to a token instead of accepting it, e.g. 410 Unregistered. */
export interface ApnsAnswer {
  status: number;
  reason: string;
  retryAfterSec?: number;
}

/** A push the fake accepted: its apns-* headers and its JSON payload. */
export interface AcceptedApnsPush {
  token: string;
  headers: Record<string, string>;
  payload: { aps: Record<string, unknown> } & Record<string, unknown>;
}

export interface FakeApnsOptions {
  /**
   * Which device tokens exist: a push to any other is answered 410 Unregistered, as Apple answers for an app that
   * was deleted (default: every token exists). A test whose engines keep earlier runs' registrations says which are
   * its own, so a notice to everyone does not push (and then removes) the earlier runs' devices.
   */
  isKnown?: (token: string) => boolean;
  /** The key the provider tokens must be signed with (the public half of the .p8), its key id and team id. */
  publicKey: KeyObject;
  keyId: string;
  teamId: string;
  /** Called with each push accepted, and when, instead of keeping it in `accepted` (benchmarks: no growing list). */
  onAccepted?: (push: AcceptedApnsPush, atMs: number) => void;
  /** Called with the raw body of every request, accepted or not (what a provider would see: the canary test). */
  onBody?: (body: Buffer) => void;
}

const PUSH_TYPES = new Set(['alert', 'background', 'voip', 'complication', 'fileprovider', 'mdm', 'liveactivity']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PAYLOAD = 4096;
const TOKEN_LIFETIME_S = 3600;

/**
 * APNs on 127.0.0.1: HTTP/2 over TLS (the test CA), `POST /3/device/<hex token>`. Refuses what Apple refuses, with
 * Apple's status and reason: a provider token that is missing, not ES256 by the configured key, with another kid or
 * iss, or older than an hour (403); no apns-topic, a token that is not hex, an unknown apns-push-type, an apns-id
 * that is not a UUID, a priority other than 5 or 10 (and 10 for a background push), a collapse id over 64 bytes, a
 * non-integer expiration (400); a payload that is empty, over 4096 bytes (413) or without an `aps` object.
 */
export class FakeApns {
  readonly accepted: AcceptedApnsPush[] = [];
  /** Requests seen per device token, accepted or not. */
  readonly requests = new Map<string, number>();
  /** TLS connections made to the fake. */
  connections = 0;
  private readonly scripted = new Map<string, ApnsAnswer[]>();
  private readonly sessions = new Set<Http2Session>();
  /** The last provider token verified, and its claims: a provider sends the same one for up to an hour. */
  private lastJws: { authorization: string; jws: ReturnType<typeof verifyJws> } | undefined;

  private constructor(
    private readonly server: Http2Server,
    private readonly options: FakeApnsOptions,
  ) {}

  static async start(options: FakeApnsOptions): Promise<FakeApns> {
    const { key, cert } = await testTls();
    const server = createSecureServer({ key, cert });
    const fake = new FakeApns(server, options);
    server.on('session', (session) => {
      fake.connections += 1;
      fake.sessions.add(session);
      session.on('close', () => fake.sessions.delete(session));
    });
    server.on('stream', (stream, headers) => fake.serve(stream, headers));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The next requests to `token` get these answers, one each, in order; then it is accepted again. */
  answer(token: string, ...answers: ApnsAnswer[]): void {
    this.scripted.set(token, [...(this.scripted.get(token) ?? []), ...answers]);
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const received = Buffer.concat(chunks);
      this.options.onBody?.(received);
      const answer = this.check(headers, received);
      if (answer.status === 200) {
        stream.respond({ ':status': 200, 'apns-id': headers['apns-id'] ?? randomUUID() });
        stream.end();
        return;
      }
      const body = answer.status === 410 ? { reason: answer.reason, timestamp: Date.now() } : { reason: answer.reason };
      stream.respond({
        ':status': answer.status,
        'content-type': 'application/json',
        ...(answer.retryAfterSec !== undefined && { 'retry-after': String(answer.retryAfterSec) }),
      });
      stream.end(JSON.stringify(body));
    });
  }

  private check(headers: IncomingHttpHeaders, body: Buffer): ApnsAnswer {
    if (headers[':method'] !== 'POST') return { status: 405, reason: 'MethodNotAllowed' };
    const token = /^\/3\/device\/([^/]*)$/.exec(headers[':path'] ?? '')?.[1];
    if (token === undefined) return { status: 404, reason: 'BadPath' };
    this.requests.set(token, (this.requests.get(token) ?? 0) + 1);
    const refusal = this.checkProviderToken(headers.authorization) ?? checkHeaders(token, headers);
    if (refusal) return refusal;
    if (body.length === 0) return { status: 400, reason: 'PayloadEmpty' };
    if (body.length > MAX_PAYLOAD) return { status: 413, reason: 'PayloadTooLarge' };
    const payload = parseObject(body);
    const aps = payload?.aps;
    // Apple names no reason for a payload that is not JSON or has no aps dictionary; this one is the fake's own.
    if (!payload || typeof aps !== 'object' || aps === null) return { status: 400, reason: 'BadPayload' };
    const scripted = this.scripted.get(token)?.shift();
    if (scripted) return scripted;
    if (this.options.isKnown && !this.options.isKnown(token)) return { status: 410, reason: 'Unregistered' };
    const push = { token, headers: apnsHeaders(headers), payload: { ...payload, aps: aps as Record<string, unknown> } };
    if (this.options.onAccepted) this.options.onAccepted(push, performance.timeOrigin + performance.now());
    else this.accepted.push(push);
    return { status: 200, reason: '' };
  }

  private checkProviderToken(authorization: string | undefined): ApnsAnswer | undefined {
    if (!authorization?.startsWith('bearer ')) return { status: 403, reason: 'MissingProviderToken' };
    if (this.lastJws?.authorization !== authorization) {
      const jws = verifyJws(authorization.slice('bearer '.length), this.options.publicKey, 'ES256');
      this.lastJws = { authorization, jws };
    }
    const { jws } = this.lastJws;
    const iat = jws?.claims.iat;
    const now = Date.now() / 1000;
    const valid =
      jws?.header.kid === this.options.keyId &&
      jws.claims.iss === this.options.teamId &&
      typeof iat === 'number' &&
      iat <= now + 60;
    if (!valid) return { status: 403, reason: 'InvalidProviderToken' };
    if (now - iat > TOKEN_LIFETIME_S) return { status: 403, reason: 'ExpiredProviderToken' };
    return undefined;
  }
}

function checkHeaders(token: string, headers: IncomingHttpHeaders): ApnsAnswer | undefined {
  const bad = (reason: string) => ({ status: 400, reason });
  if (!headers['apns-topic']) return bad('MissingTopic');
  if (!/^(?:[0-9a-f]{2}){32,100}$/i.test(token)) return bad('BadDeviceToken');
  const pushType = headers['apns-push-type'];
  if (typeof pushType !== 'string' || !PUSH_TYPES.has(pushType)) return bad('InvalidPushType');
  const id = headers['apns-id'];
  if (id !== undefined && !UUID.test(String(id))) return bad('BadMessageId');
  const priority = headers['apns-priority'] ?? '10';
  if (priority !== '5' && priority !== '10') return bad('BadPriority');
  if (pushType === 'background' && priority !== '5') return bad('BadPriority');
  const collapseId = headers['apns-collapse-id'];
  if (collapseId !== undefined && Buffer.byteLength(String(collapseId)) > 64) return bad('BadCollapseId');
  const expiration = headers['apns-expiration'];
  if (expiration !== undefined && !/^\d+$/.test(String(expiration))) return bad('BadExpirationDate');
  return undefined;
}

function apnsHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).flatMap(([name, value]) => (name.startsWith('apns-') ? [[name, String(value)]] : [])),
  );
}

function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
