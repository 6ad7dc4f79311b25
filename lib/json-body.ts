import type { z } from 'zod';
import { ImError } from './errors.ts';

/**
 * A JSON request body checked against `schema`: INVALID_ARGUMENT when it is not JSON, or with the first problem and
 * the field at fault (`field`, dotted) when it does not fit. An unknown key is reported at the object that holds
 * it: the field at fault is the key.
 */
export function parseJsonBody<T>(schema: z.ZodType<T>, body: Buffer): T {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ImError('INVALID_ARGUMENT', 'body is not JSON');
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = path.join('.');
  throw new ImError('INVALID_ARGUMENT', `${field || 'body'}: ${issue.message}`, field ? { field } : {});
}
