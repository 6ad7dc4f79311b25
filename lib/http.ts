import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpErrorOf, ImError, toImError } from './errors.ts';

/**
 * The body, up to `maxBytes`. Past that it stops taking data and fails with TOO_LARGE: the 413 then goes out
 * with Connection: close and the server closes the socket once it is written, so the rest is never read (a client
 * that declares the length up front is refused before anything is read).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new ImError('TOO_LARGE', `body is over ${maxBytes} bytes`);
  if (Number(req.headers['content-length']) > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      chunks.length = 0;
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

/** An error as `{code, message}` (and `field`, `retryAfterMs` where set) with its HTTP status; Connection: close. */
export function sendError(res: ServerResponse, err: unknown, extraHeaders: Record<string, string> = {}): void {
  const e = toImError(err);
  if (res.headersSent) return void res.destroy();
  const { body, headers } = httpErrorOf(e);
  res.writeHead(e.httpStatus, { 'content-type': 'application/json', connection: 'close', ...headers, ...extraHeaders });
  res.end(body);
}
