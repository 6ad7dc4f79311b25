import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { httpErrorOf, ImError, toImError } from '../lib/errors.ts';
import type { TokenClaims, TokenVerifier } from '../lib/token.ts';

export const WS_PATH = '/v1/ws';

/** The token from `Authorization: Bearer …` or, for browsers that cannot set headers, `?token=…`. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}

export interface Upgrade {
  claims: TokenClaims;
  /**
   * Whether push hands the device what it has not acked as it comes online (the default). A client that pulls
   * GetDiff itself on connect, as the SDK does, asks for none with `?catch_up=0`.
   */
  catchUp: boolean;
}

/** Checks an upgrade request: path, Origin allowlist, options, then the token. Throws an ImError with the reason. */
export function authenticateUpgrade(
  req: IncomingMessage,
  verify: TokenVerifier,
  allowedOrigins: readonly string[],
): Upgrade {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== WS_PATH) throw new ImError('NOT_FOUND', `WebSocket endpoint is ${WS_PATH}`);
  const catchUp = url.searchParams.get('catch_up') ?? '1';
  if (catchUp !== '0' && catchUp !== '1') throw new ImError('INVALID_ARGUMENT', 'catch_up must be 0 or 1');
  const origin = req.headers.origin;
  if (origin && allowedOrigins.length > 0 && !allowedOrigins.includes(origin)) {
    throw new ImError('FORBIDDEN', `origin ${origin} is not allowed`);
  }
  const token = bearerToken(req);
  if (!token) throw new ImError('UNAUTHORIZED', 'missing token: send Authorization: Bearer <token> or ?token=');
  return { claims: verify(token), catchUp: catchUp === '1' };
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
