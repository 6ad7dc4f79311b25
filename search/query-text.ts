import { ImError } from '../lib/errors.ts';
import { MARK_END, MARK_START } from './search-index.ts';
import { wordsOf } from './words.ts';

/** The longest query accepted, in characters (code points): a search box's worth, not a document. */
export const MAX_QUERY_CHARS = 200;
/** The most words a query may have after segmentation (each is a clause of the query). */
export const MAX_QUERY_WORDS = 16;

/** Control and format characters (C0, C1, zero-width and bidi controls): never part of a word a user looks for. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;
/** Half a surrogate pair (JS strings may hold one; it is no character). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export interface QueryText {
  /** The text cleaned for an analyzer: no controls, no highlight marks, well-formed, trimmed. */
  text: string;
  /** Its folded words; empty when it had none (only punctuation or symbols: the search finds nothing). */
  words: string[];
}

/**
 * A user's query as text to analyze, never as query syntax: `*:*`, `OR`, quotes, backslashes are punctuation or
 * ordinary words here, and adapters hand the text to analyzers (Elasticsearch's `match`, never `query_string`).
 * Too long or empty is INVALID_ARGUMENT; control characters become spaces.
 */
export function parseQueryText(raw: unknown): QueryText {
  if (typeof raw !== 'string') throw new ImError('INVALID_ARGUMENT', 'search text must be a string', { field: 'text' });
  // Counted before anything is done with it: a 10 MB string is refused without being scanned further.
  if (raw.length > MAX_QUERY_CHARS * 2 || [...raw].length > MAX_QUERY_CHARS) {
    throw new ImError('INVALID_ARGUMENT', `search text is longer than ${MAX_QUERY_CHARS} characters`, {
      field: 'text',
    });
  }
  const text = raw
    .replace(LONE_SURROGATE, ' ')
    .replace(INVISIBLE, ' ')
    .replaceAll(MARK_START, ' ')
    .replaceAll(MARK_END, ' ')
    .trim();
  if (text === '') throw new ImError('INVALID_ARGUMENT', 'search text is empty', { field: 'text' });
  const words = [...new Set(wordsOf(text).map((w) => w.word))];
  if (words.length > MAX_QUERY_WORDS) {
    throw new ImError('INVALID_ARGUMENT', `search text has more than ${MAX_QUERY_WORDS} words`, { field: 'text' });
  }
  return { text, words };
}
