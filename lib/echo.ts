/** How much of a client's value an error message quotes: enough to recognise it, never the whole of a huge one. */
export const ECHO_MAX_CHARS = 40;

/**
 * Characters quoted as \uXXXX although JSON allows them raw: C1 controls, line and paragraph separators, and the
 * bidi marks, embeddings, overrides and isolates that could make a quoted value reorder the message around it.
 */
const INVISIBLE = /[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A client's value as an error message may show it: JSON-quoted, cut to its first ECHO_MAX_CHARS characters
 * (code points, so a surrogate pair is never split) with the full length after a cut, e.g.
 * `"xxxx…"… (60000 characters)`. Error messages go back to the client and into logs, so they stay small
 * whatever the client sent.
 */
export function echo(value: string, max = ECHO_MAX_CHARS): string {
  let shown = '';
  let count = 0;
  for (const ch of value) {
    if (count < max) shown += ch;
    count++;
  }
  const quoted = JSON.stringify(shown).replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return count > max ? `${quoted}… (${count} characters)` : quoted;
}
