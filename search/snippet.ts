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

/** A fragment with MARK_START/MARK_END around highlighted words (Elasticsearch's highlighter) as text and ranges. */
export function snippetOfMarked(marked: string): SearchHit['snippet'] {
  const highlights: Highlight[] = [];
  let text = '';
  let open = -1;
  for (const ch of marked) {
    if (ch === MARK_START) open = text.length;
    else if (ch === MARK_END) {
      if (open >= 0 && text.length > open) highlights.push([open, text.length]);
      open = -1;
    } else text += ch;
  }
  return { text, highlights };
}

/** Indexed text never holds the marks itself, so a message cannot fake a highlight. */
export function withoutMarks(text: string): string {
  return text.replaceAll(MARK_START, ' ').replaceAll(MARK_END, ' ');
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
