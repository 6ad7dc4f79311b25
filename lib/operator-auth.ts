import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ImError } from './errors.ts';

/** UNAUTHORIZED unless the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function checkOperator(req: IncomingMessage, token: string): void {
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('Bearer ')) throw new ImError('UNAUTHORIZED', 'missing Authorization: Bearer <operator token>');
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (!timingSafeEqual(digest(auth.slice('Bearer '.length).trim()), digest(token))) {
    throw new ImError('UNAUTHORIZED', 'not the operator token');
  }
}
