/** A word of a text: its folded form and where it stands in the original text ([start, end) in UTF-16 units). */
export interface Word {
  word: string;
  start: number;
  end: number;
}

/**
 * Unicode word boundaries (UAX #29) with ICU's dictionaries: Latin text splits at spaces and punctuation, Chinese and
 * Japanese into dictionary words ("今天天气很好" → 今天 / 天气 / 很好). Node ships full ICU, so no package is needed.
 */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

/** NFKC folds full-width and compatibility forms ("ＡＢＣ" → "abc", as Elasticsearch's cjk_width), then lower case. */
export function foldWord(word: string): string {
  return word.normalize('NFKC').toLowerCase();
}

/** The words of `text` in order, each folded; punctuation, spaces and symbols are not words. */
export function wordsOf(text: string): Word[] {
  const words: Word[] = [];
  for (const s of segmenter.segment(text)) {
    if (!s.isWordLike) continue;
    words.push({ word: foldWord(s.segment), start: s.index, end: s.index + s.segment.length });
  }
  return words;
}

/** The folded words only: MiniSearch's tokenizer. */
export function tokenize(text: string): string[] {
  return wordsOf(text).map((w) => w.word);
}
