import assert from 'node:assert/strict';
import { ImError, type ErrorCode } from '../../lib/errors.ts';

/**
 * What a decoder of outside input may do with bad input: throw the project's ImError with one of the codes it is
 * documented to use. A TypeError, a RangeError or an ImError of another code (INTERNAL above all) fails the
 * property with what escaped.
 */
export function assertRefusal(err: unknown, codes: readonly ErrorCode[]): void {
  if (!(err instanceof ImError)) {
    assert.fail(`not an ImError: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
  assert.ok(codes.includes(err.code), `code ${err.code} (${err.message}) is not one of ${codes.join(', ')}`);
}

/** Runs `decode`: its value, or undefined if it refused the input as assertRefusal allows. */
export function decodedOrRefused<T>(decode: () => T, codes: readonly ErrorCode[]): T | undefined {
  try {
    return decode();
  } catch (err) {
    assertRefusal(err, codes);
    return undefined;
  }
}

/** decodedOrRefused for an async decoder. */
export async function settledOrRefused<T>(
  decode: () => Promise<T>,
  codes: readonly ErrorCode[],
): Promise<T | undefined> {
  try {
    return await decode();
  } catch (err) {
    assertRefusal(err, codes);
    return undefined;
  }
}
