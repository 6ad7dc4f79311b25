import { verify, type KeyObject } from 'node:crypto';

export interface VerifiedJws {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/**
 * A compact JWS whose signature verifies with `publicKey` under `alg` (ES256: raw r||s as JOSE has it; RS256), its
 * header and claims; undefined for anything else (malformed, another algorithm, a bad signature).
 */
export function verifyJws(token: string, publicKey: KeyObject, alg: 'ES256' | 'RS256'): VerifiedJws | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [head = '', body = '', signature = ''] = parts;
  try {
    const header = decode(head);
    if (header.alg !== alg) return undefined;
    const key = alg === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' as const } : publicKey;
    if (!verify('sha256', Buffer.from(`${head}.${body}`), key, Buffer.from(signature, 'base64url'))) return undefined;
    return { header, claims: decode(body) };
  } catch {
    return undefined;
  }
}

function decode(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
}
