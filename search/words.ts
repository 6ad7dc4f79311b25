/** A word of a text: its folded form and where it stands in the original text ([start, end) in UTF-16 units). */
export interface Word {
  word: string;
  start: number;
  end: number;
}

/**
 * A run of letters, marks, digits and underscores, joined across one apostrophe or dot ("don't", "3.14",
 * "example.com"), as Unicode word boundaries (UAX #29) would; hyphens, spaces and other punctuation split.
 */
const RUN = /[\p{L}\p{M}\p{N}_]+(?:['’.][\p{L}\p{M}\p{N}_]+)*/gu;

/** Scripts written without spaces between words: a run holding one is split by ICU's dictionaries. */
const UNSPACED = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}]/u;

/**
 * ICU's word segmentation ("今天天气很好" → 今天 / 天气 / 很好; "東京は晴れです" → 東京 / は / 晴れ / です): Node ships
 * full ICU, so no package is needed. It costs ~3 µs a word, so only runs of the scripts above go through it
 * (decision 0031 measured the whole text through it: 52 µs a message).
 */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

/** NFKC folds full-width and compatibility forms ("ＡＢＣ" → "abc", as Elasticsearch's cjk_width), then lower case. */
export function foldWord(word: string): string {
  return word.normalize('NFKC').toLowerCase();
}

/** The words of `text` in order, each folded; punctuation, spaces and symbols are not words. */
export function wordsOf(text: string): Word[] {
  const words: Word[] = [];
  for (const run of text.matchAll(RUN)) {
    const start = run.index;
    if (!UNSPACED.test(run[0])) {
      words.push({ word: foldWord(run[0]), start, end: start + run[0].length });
      continue;
    }
    for (const s of segmenter.segment(run[0])) {
      if (!s.isWordLike) continue;
      words.push({ word: foldWord(s.segment), start: start + s.index, end: start + s.index + s.segment.length });
    }
  }
  return words;
}

/** The folded words only: MiniSearch's tokenizer. */
export function tokenize(text: string): string[] {
  return wordsOf(text).map((w) => w.word);
}
