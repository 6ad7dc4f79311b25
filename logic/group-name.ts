import { ImError } from '../lib/errors.ts';

/**
 * Characters a group name may not hold. Every member's client shows the name, often inside its own text
 * ("Alice added you to …"), in lists and notifications, and logs record it:
 * - control characters (Unicode Cc: NUL, tabs, newlines, ESC and the C1 range) break lines and terminals;
 * - line and paragraph separators (U+2028, U+2029) break lines just the same where Cc is already filtered;
 * - bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder how the text around the name
 *   is displayed, so a name could make "… removed you" read as something else (the "Trojan Source" trick).
 *   The bidi marks (U+200E, U+200F, U+061C) stay allowed: right-to-left names need them and they do not nest.
 */
const REFUSED = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
/** Whitespace and invisible format characters (zero-width space, joiners): a name of only these shows blank. */
const BLANK = /^[\s\p{Cf}]*$/u;

/**
 * A group name as stored: trimmed of surrounding whitespace, not blank, at most `maxChars` characters, and none
 * of the characters above. Characters are code points: 🎉 counts one, as a person counts it, where UTF-16 counts
 * two (a flag or a family emoji still counts its parts). Grapheme clusters would count better still but bound
 * nothing (one cluster can carry any number of combining marks), and the limit bounds what every member gets.
 */
export function checkGroupName(name: string, maxChars: number): string {
  const trimmed = name.trim();
  if (BLANK.test(trimmed)) throw new ImError('INVALID_ARGUMENT', 'group name must not be empty');
  // Code points never outnumber UTF-16 units, so only a name long in units needs counting.
  const chars = trimmed.length > maxChars ? [...trimmed].length : trimmed.length;
  if (chars > maxChars) {
    throw new ImError('INVALID_ARGUMENT', `group name must be at most ${maxChars} characters (got ${chars})`);
  }
  const bad = REFUSED.exec(trimmed);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new ImError(
      'INVALID_ARGUMENT',
      `group name must not contain control characters, line separators or bidi overrides (found U+${code})`,
    );
  }
  return trimmed;
}
