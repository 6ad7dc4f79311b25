// The canary test's words and its ledger (issue 24): unique words sent only inside end-to-end encrypted messages, one
// control word sent in the clear, and what a scan of each place (a store, the logs, the pushes) found of each.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A word of `n` random CJK ideographs (U+4E00–U+9FA5): 3 UTF-8 bytes each, one token to no tokenizer in particular. */
function cjk(n: number): string {
  return Array.from({ length: n }, () => String.fromCodePoint(randomInt(0x4e00, 0x9fa6))).join('');
}

/** Words no run has used: ASCII, accented Latin, CJK, and a long one (58 bytes). */
export function canaryWords(): string[] {
  return [
    `canary${hex(8)}`,
    `canary${hex(8)}`,
    `canary${hex(8)}`,
    `kanárek${hex(6)}`,
    `金丝雀${cjk(5)}`,
    `longcanary${hex(24)}`,
  ];
}

export function controlWord(): string {
  return `control${hex(8)}`;
}

/**
 * The base64 characters that encode `bytes` wherever they sit in a longer value: one run per alignment (0, 1 or 2
 * bytes before them), without the characters shared with the bytes around.
 */
function base64Runs(bytes: Buffer): string[] {
  return [0, 1, 2].flatMap((before) => {
    const encoded = Buffer.concat([Buffer.alloc(before), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    const start = before === 0 ? 0 : 4;
    const partial = (before + bytes.length) % 3;
    const tail = partial === 0 ? 0 : partial + 1;
    const run = encoded.slice(start, encoded.length - tail);
    return run.length >= 12 ? [run, run.replace(/\+/g, '-').replace(/\//g, '_')] : [];
  });
}

/**
 * Every form in which a word could sit in bytes the server keeps or emits: UTF-8 as is, JSON's \u escapes (either
 * case), hex, base64 (protobuf bytes in JSON, a body in a log), and a Buffer's JSON (`"data":[99,97,...]`).
 */
export function formsOf(word: string): Buffer[] {
  const utf8 = Buffer.from(word, 'utf8');
  const escaped = JSON.stringify(word)
    .slice(1, -1)
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const texts = new Set([
    word,
    escaped,
    escaped.replace(/\\u([0-9a-f]{4})/g, (_, h: string) => `\\u${h.toUpperCase()}`),
  ]);
  texts.add(utf8.toString('hex'));
  for (const run of base64Runs(utf8)) texts.add(run);
  texts.add([...utf8].join(','));
  return [...texts].map((t) => Buffer.from(t, 'utf8'));
}

interface Place {
  items: number;
  /** What the scan of the place counted of its own (tables and rows, keys, records). */
  notes: string[];
  bytes: number;
  /** Hits per word, and where the first one was. */
  hits: Map<string, { count: number; first: string }>;
}

/** What a scan of every place found: each canary must be found nowhere; the control word where it is kept. */
export class CanaryLedger {
  private readonly places = new Map<string, Place>();
  private readonly forms: Map<string, Buffer[]>;

  constructor(
    readonly canaries: readonly string[],
    readonly control: string,
  ) {
    this.forms = new Map([...canaries, control].map((w) => [w, formsOf(w)]));
  }

  /** Looks for every word in one item of `place` (a row, a record, a file, a log line, a push); `where` names it. */
  check(place: string, item: Buffer | string, where: string): void {
    const bytes = typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
    const p = this.place(place);
    p.items += 1;
    p.bytes += bytes.length;
    for (const [word, forms] of this.forms) {
      if (forms.some((f) => bytes.includes(f))) this.hit(p, word, 1, where);
    }
  }

  /** A query of `place` for `word` (a search) that answered `hits` hits: each one is a hit of the word. */
  checkQuery(place: string, word: string, hits: number, where: string): void {
    const p = this.place(place);
    p.items += 1;
    if (hits > 0) this.hit(p, word, hits, where);
  }

  /** A figure of the scan of `place`, shown in the report. */
  note(place: string, text: string): void {
    this.place(place).notes.push(text);
  }

  /** Hits of `word` in `place` (0 for a place never scanned). */
  hitsOf(place: string, word: string): number {
    return this.places.get(place)?.hits.get(word)?.count ?? 0;
  }

  /** One line per place: items and bytes scanned, canary and control hits. */
  report(): string[] {
    return [...this.places].map(([name, p]) => {
      const canaries = this.canaries.reduce((sum, w) => sum + this.hitsOf(name, w), 0);
      const notes = p.notes.map((n) => ` (${n})`).join('');
      return `${name}: ${p.items} items, ${p.bytes} bytes${notes}; canary hits ${canaries}, control hits ${this.hitsOf(name, this.control)}`;
    });
  }

  /** Fails naming each place, word and first item where a canary was found. */
  assertNoCanary(): void {
    const leaks = [...this.places].flatMap(([name, p]) =>
      this.canaries.flatMap((w) => {
        const hit = p.hits.get(w);
        return hit ? [`${name}: ${JSON.stringify(w)} ${hit.count}x, first in ${hit.first}`] : [];
      }),
    );
    assert.deepEqual(leaks, [], `plaintext of an encrypted conversation found:\n${leaks.join('\n')}`);
  }

  /** Each place was scanned (at least one item) and holds the control word: a scan that looked nowhere finds nothing. */
  assertControlIn(places: readonly string[]): void {
    for (const name of places) {
      const p = this.places.get(name);
      assert.ok(p && p.items > 0, `${name} was not scanned`);
      assert.ok(this.hitsOf(name, this.control) > 0, `${name}: the control word sent in the clear is not found`);
    }
  }

  private hit(p: Place, word: string, count: number, where: string): void {
    const hit = p.hits.get(word);
    if (hit) hit.count += count;
    else p.hits.set(word, { count, first: where });
  }

  private place(name: string): Place {
    let p = this.places.get(name);
    if (!p) this.places.set(name, (p = { items: 0, notes: [], bytes: 0, hits: new Map() }));
    return p;
  }
}
