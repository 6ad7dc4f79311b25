import { MARK_END, MARK_START, SNIPPET_CHARS, type Highlight, type SearchHit } from './search-index.ts';
import { wordsOf } from './words.ts';

/** Characters of context kept before the first word found. */
const LEAD_CHARS = 30;

/** A piece of `text` around the first of `words` (folded) it holds, with every occurrence in it marked. */
export function snippetOf(text: string, words: ReadonlySet<string>): SearchHit['snippet'] {
  const found = wordsOf(text).filter((w) => words.has(w.word));
  let start = Math.max(0, (found[0]?.start ?? 0) - LEAD_CHARS);
  let end = Math.min(text.length, start + SNIPPET_CHARS);
  // Never half a surrogate pair at either end.
  if (start > 0 && isLowSurrogate(text.charCodeAt(start))) start--;
  if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end--;
  const highlights: Highlight[] = found
    .filter((w) => w.start >= start && w.end <= end)
    .map((w) => [w.start - start, w.end - start]);
  return { text: text.slice(start, end), highlights };
}

/** Indexed text never holds the marks itself, so a message cannot fake a highlight. */
export function withoutMarks(text: string): string {
  return text.replaceAll(MARK_START, ' ').replaceAll(MARK_END, ' ');
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
