import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ImError, toImError } from '../lib/errors.ts';
import type { TokenClaims, TokenVerifier } from '../lib/token.ts';

export const WS_PATH = '/v1/ws';

/** The token from `Authorization: Bearer …` or, for browsers that cannot set headers, `?token=…`. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}

/** Checks an upgrade request: path, Origin allowlist, then the token. Throws an ImError with the reason. */
export function authenticateUpgrade(
  req: IncomingMessage,
  verify: TokenVerifier,
  allowedOrigins: readonly string[],
): TokenClaims {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== WS_PATH) throw new ImError('NOT_FOUND', `WebSocket endpoint is ${WS_PATH}`);
  const origin = req.headers.origin;
  if (origin && allowedOrigins.length > 0 && !allowedOrigins.includes(origin)) {
    throw new ImError('FORBIDDEN', `origin ${origin} is not allowed`);
  }
  const token = bearerToken(req);
  if (!token) throw new ImError('UNAUTHORIZED', 'missing token: send Authorization: Bearer <token> or ?token=');
  return verify(token);
}

/** Refuses an upgrade with an HTTP status and a JSON body `{code, message}` the client can show. */
export function refuseUpgrade(socket: Duplex, err: unknown): void {
  const e = toImError(err);
  const body = JSON.stringify({ code: e.code, message: e.message });
  socket.end(
    `HTTP/1.1 ${e.httpStatus} ${e.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
