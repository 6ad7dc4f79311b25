import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ImError } from '../lib/errors.ts';
import type { SearchRequest } from './search-index.ts';

/** Where the previous page stopped, in the adapter's sort order: newest (sent_at_ms, id) or relevance (score, id). */
export type SortKey = [number, string];

/**
 * Cursors sealed with AES-256-GCM. A cursor holds sort values, and a relevance score is computed over every
 * user's documents, so an open cursor would let a user watch scores move as others' messages arrive. Sealed, it shows
 * nothing and is bound to the user and request that made it (associated data): another user's cursor, or one of
 * another query, is refused. Cluster processes that answer the same users share a key; a new key (a restart without
 * one configured) makes older cursors INVALID_ARGUMENT, and the client starts from the first page.
 */
export class CursorSeal {
  private readonly key: Buffer;

  constructor(key: Uint8Array = randomBytes(32)) {
    if (key.length !== 32) throw new Error('search: the cursor key must be 32 bytes');
    this.key = Buffer.from(key);
  }

  seal(request: SearchRequest, sortKey: SortKey): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(boundTo(request));
    const body = Buffer.concat([cipher.update(JSON.stringify(sortKey), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The sort key after which the page starts, or undefined for the first page. */
  open(request: SearchRequest): SortKey | undefined {
    const cursor = request.cursor;
    if (cursor === undefined || cursor === '') return undefined;
    const refused = new ImError('INVALID_ARGUMENT', 'search cursor is not one of this search', { field: 'cursor' });
    if (typeof cursor !== 'string' || cursor.length > 512) throw refused;
    const raw = Buffer.from(cursor, 'base64url');
    if (raw.length < 29) throw refused;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12))
        .setAAD(boundTo(request))
        .setAuthTag(raw.subarray(12, 28));
      const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      const key = JSON.parse(text) as unknown;
      if (Array.isArray(key) && typeof key[0] === 'number' && typeof key[1] === 'string') return [key[0], key[1]];
    } catch {
      // Tampered with, of another key, or of another request.
    }
    throw refused;
  }
}

/** What a cursor belongs to: the user and every part of the request but the cursor and the page size. */
function boundTo(request: SearchRequest): Buffer {
  const { user, text, conversation, fromUser, fromMs, toMs, kind, order } = request;
  const fingerprint = JSON.stringify([user, text, conversation, fromUser, fromMs, toMs, kind, order]);
  return createHash('sha256').update(fingerprint).digest();
}

/** Whether `a` comes after `b` in a descending order of (number, id): what a page after cursor `b` may hold. */
export function isAfter(a: SortKey, b: SortKey): boolean {
  return a[0] !== b[0] ? a[0] < b[0] : a[1] < b[1];
}
