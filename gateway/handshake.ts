import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { httpErrorOf, ImError, toImError } from '../lib/errors.ts';
import type { TokenClaims, TokenVerifier } from '../lib/token.ts';
import { originAllowed } from './origin.ts';

export const WS_PATH = '/v1/ws';
/** The subprotocol the gateway speaks; a browser offers it beside the token's (below), and it is what is answered. */
export const WS_PROTOCOL = 'im.v1';
/** A browser cannot set headers on a WebSocket: it offers the token as a subprotocol `im.bearer.<token>`. */
export const BEARER_PROTOCOL_PREFIX = 'im.bearer.';

export interface HandshakePolicy {
  /** Origins allowed besides the gateway's own (see origin.ts); `*` allows any. */
  allowedOrigins: readonly string[];
  /** Whether `?token=` is accepted (off by default: URLs end up in proxies' logs and browser histories). */
  allowQueryToken: boolean;
}

/**
 * The token from `Authorization: Bearer …`, else from the subprotocols a browser offers (`im.bearer.<token>`),
 * else, where allowed, from `?token=…`.
 */
export function bearerToken(req: IncomingMessage, allowQueryToken: boolean): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const offered = req.headers['sec-websocket-protocol']?.split(',').map((p) => p.trim()) ?? [];
  const fromProtocol = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  if (fromProtocol) return fromProtocol.slice(BEARER_PROTOCOL_PREFIX.length);
  if (!allowQueryToken) return undefined;
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined;
}

export interface Upgrade {
  claims: TokenClaims;
  /**
   * Whether push hands the device what it has not acked as it comes online (the default). A client that pulls
   * GetDiff itself on connect, as the SDK does, asks for none with `?catch_up=0`.
   */
  catchUp: boolean;
}

/** Checks an upgrade request: path, Origin, options, then the token. Throws an ImError with the reason. */
export async function authenticateUpgrade(
  req: IncomingMessage,
  verify: TokenVerifier,
  policy: HandshakePolicy,
): Promise<Upgrade> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== WS_PATH) throw new ImError('NOT_FOUND', `WebSocket endpoint is ${WS_PATH}`);
  const catchUp = url.searchParams.get('catch_up') ?? '1';
  if (catchUp !== '0' && catchUp !== '1') throw new ImError('INVALID_ARGUMENT', 'catch_up must be 0 or 1');
  const origin = req.headers.origin;
  if (origin !== undefined && !originAllowed(origin, req.headers.host, policy.allowedOrigins)) {
    throw new ImError('FORBIDDEN', 'origin is not allowed: set IM_ALLOWED_ORIGINS to allow it');
  }
  const token = bearerToken(req, policy.allowQueryToken);
  if (!token) {
    const how = `send Authorization: Bearer <token>, or offer the subprotocols ${WS_PROTOCOL} and ${BEARER_PROTOCOL_PREFIX}<token>`;
    throw new ImError('UNAUTHORIZED', `missing token: ${how}`);
  }
  return { claims: await verify(token), catchUp: catchUp === '1' };
}

/** ws's handleProtocols: answer im.v1 when offered, never the token's subprotocol. */
export function chooseProtocol(offered: Set<string>): string | false {
  return offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false;
}

/**
 * Refuses an upgrade with an HTTP status and a JSON body `{code, message}` the client can show; an overloaded
 * server adds `retryAfterMs` (and Retry-After in whole seconds, for generic clients).
 */
export function refuseUpgrade(socket: Duplex, err: unknown): void {
  const e = toImError(err);
  const { body, headers } = httpErrorOf(e);
  const head = [
    `HTTP/1.1 ${e.httpStatus} ${e.code}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
