import { setImmediate as nextTurn } from 'node:timers/promises';
import MiniSearch from 'minisearch';
import { ImError } from '../lib/errors.ts';
import type { Sqlite } from '../lib/sqlite.ts';
import { CursorSeal, isAfter, type SortKey } from './cursor.ts';
import { matchesFilters, readAt, type ReadAt } from './readable.ts';
import type { IndexOp, SearchDoc, SearchHit, SearchIndex, SearchPage, SearchRequest } from './search-index.ts';
import { SqliteSearchDocs } from './search-docs.sqlite.ts';
import { checkSearchRequest } from './search-request.ts';
import { snippetOf } from './snippet.ts';
import { nextState } from './doc-state.ts';
import { tokenize } from './words.ts';

export interface MiniSearchIndexOptions {
  /** The embedded data directory's database: documents kept there survive a restart. Absent: in memory only. */
  db?: Sqlite;
  /** 32 bytes; a random one when absent (cursors then last as long as the process). */
  cursorKey?: Uint8Array;
  now?: () => number;
  /** A user who may read at most this many documents has them checked directly (default SCAN_LIMIT). */
  scanLimit?: number;
}

interface Indexed {
  id: string;
  text: string;
}

/** A user who may read at most this many documents has them checked directly, not through MiniSearch. */
const SCAN_LIMIT = 2_000;

/** Rows read per turn of the event loop while the index is rebuilt at start. */
const REBUILD_PAGE = 2_000;

/**
 * The embedded mode's index: MiniSearch in process over the documents, which live in a Map and, with a data
 * directory, in its search_docs table. At start MiniSearch is rebuilt from that table a page per event-loop turn, so
 * the server goes on serving meanwhile (decision 0031 measured it against a snapshot); searches are UNAVAILABLE and
 * writes wait until it is done. Words are segmented by `tokenize` (CJK by dictionary, Latin by spaces and
 * punctuation, case-folded). A write is searchable as soon as `apply` runs; it resolves once committed.
 */
export class MiniSearchIndex implements SearchIndex {
  private readonly docs = new Map<string, SearchDoc>();
  /** user → ids of the documents in their inbox; stream → ids of its timeline's documents. */
  private readonly byReader = new Map<string, Set<string>>();
  private readonly byStream = new Map<string, Set<string>>();
  private readonly deleted = new Set<string>();
  private readonly mini = new MiniSearch<Indexed>({
    fields: ['text'],
    tokenize,
    processTerm: (term) => term,
    searchOptions: { tokenize, processTerm: (term) => term, combineWith: 'AND' },
  });
  private readonly store: SqliteSearchDocs | undefined;
  private readonly seal: CursorSeal;
  private readonly now: () => number;
  private readonly scanLimit: number;
  private built = false;
  /** Settles when the documents kept in the data directory are all searchable again. */
  readonly ready: Promise<void>;

  constructor(options: MiniSearchIndexOptions = {}) {
    this.seal = new CursorSeal(options.cursorKey);
    this.now = options.now ?? Date.now;
    this.scanLimit = options.scanLimit ?? SCAN_LIMIT;
    this.store = options.db ? new SqliteSearchDocs(options.db) : undefined;
    this.ready = this.rebuild();
  }

  private async rebuild(): Promise<void> {
    const store = this.store;
    for (let after = ''; store;) {
      const page = store.page(after, REBUILD_PAGE);
      for (const id of page.deleted) this.deleted.add(id);
      for (const doc of page.docs) {
        this.docs.set(doc.id, doc);
        this.track(doc, true);
      }
      this.mini.addAll(page.docs.map((d) => ({ id: d.id, text: d.text })));
      if (page.last === undefined) break;
      after = page.last;
      await nextTurn();
    }
    this.built = true;
  }

  /** How many documents are searchable (tests and the start-up log). */
  get size(): number {
    return this.docs.size;
  }

  async apply(ops: readonly IndexOp[]): Promise<void> {
    if (!this.built) await this.ready;
    const changed = new Map<string, SearchDoc | undefined>();
    for (const op of ops) {
      const id = op.op === 'upsert' ? op.doc.id : op.id;
      const before = this.deleted.has(id) ? 'deleted' : this.docs.get(id);
      const after = nextState(before, op);
      if (after === before) continue;
      if (before !== undefined && before !== 'deleted') this.track(before, false);
      if (after !== undefined && after !== 'deleted') this.track(after, true);
      if (after === 'deleted') {
        if (before !== undefined) this.mini.discard(id);
        this.docs.delete(id);
        this.deleted.add(id);
        changed.set(id, undefined);
      } else if (after !== undefined) {
        if (before === undefined) this.mini.add({ id, text: after.text });
        else if (before !== 'deleted' && before.text !== after.text) this.mini.replace({ id, text: after.text });
        this.docs.set(id, after);
        changed.set(id, after);
      }
    }
    await this.store?.save(changed);
  }

  search(request: SearchRequest): Promise<SearchPage> {
    try {
      return Promise.resolve(this.find(request));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private find(request: SearchRequest): SearchPage {
    const query = checkSearchRequest(request);
    const after = this.seal.open(request);
    if (!this.built) {
      throw new ImError('UNAVAILABLE', 'search index is being rebuilt after a restart', { retryAfterMs: 1_000 });
    }
    if (query.words.length === 0) return { hits: [] };
    const nowMs = this.now();
    const words = new Set(query.words);
    const found: { doc: SearchDoc; at: ReadAt; key: SortKey }[] = [];
    for (const doc of this.matching(request, query.words)) {
      if (!matchesFilters(doc, request)) continue;
      const at = readAt(doc, request, nowMs);
      if (!at) continue;
      const key: SortKey = request.order === 'newest' ? [doc.sentAtMs, doc.id] : [relevanceOf(doc.text, words), doc.id];
      if (after && !isAfter(key, after)) continue;
      found.push({ doc, at, key });
    }
    found.sort((a, b) => (isAfter(a.key, b.key) ? 1 : isAfter(b.key, a.key) ? -1 : 0));
    const page = found.slice(0, request.limit);
    const hits = page.map(({ doc, at }) => hitOf(doc, at, words));
    const last = page.at(-1);
    if (found.length <= request.limit || !last) return { hits };
    return { hits, next: this.seal.seal(request, last.key) };
  }

  /**
   * Documents holding every word, among those the user might read. A user who can read few documents (most users:
   * their own conversations) has those checked directly; MiniSearch would score every document holding a common
   * word, everyone's (2 s for "quick fox" over 200,000 messages, decision 0031). Past the scan limit, MiniSearch.
   */
  private matching(request: SearchRequest, words: string[]): Iterable<SearchDoc> {
    const sets = [this.byReader.get(request.user)];
    for (const t of request.scopes.timelines) sets.push(this.byStream.get(t.conversation));
    if (request.scopes.noticesToAll || request.scopes.noticeTags.length > 0) sets.push(this.byStream.get('system'));
    const size = sets.reduce((sum, set) => sum + (set?.size ?? 0), 0);
    if (size > this.scanLimit) {
      return this.mini
        .search({ queries: words, combineWith: 'AND' })
        .map((result) => this.docs.get(result.id as string))
        .filter((doc): doc is SearchDoc => doc !== undefined);
    }
    const seen = new Set<string>();
    const docs: SearchDoc[] = [];
    for (const set of sets) {
      for (const id of set ?? []) {
        if (seen.has(id)) continue;
        seen.add(id);
        const doc = this.docs.get(id);
        if (doc && holdsAll(doc.text, words)) docs.push(doc);
      }
    }
    return docs;
  }

  /** Keeps the by-reader and by-stream sets in step with a document coming (`add`) or going. */
  private track(doc: SearchDoc, add: boolean): void {
    const keys: [Map<string, Set<string>>, string][] = doc.readers.map((r) => [this.byReader, r.user]);
    if (doc.timeline) keys.push([this.byStream, doc.timeline.stream]);
    for (const [map, key] of keys) {
      let set = map.get(key);
      if (add) {
        if (!set) map.set(key, (set = new Set()));
        set.add(doc.id);
      } else if (set) {
        set.delete(doc.id);
        if (set.size === 0) map.delete(key);
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function holdsAll(text: string, words: readonly string[]): boolean {
  const present = new Set(tokenize(text));
  return words.every((w) => present.has(w));
}

/**
 * Relevance from the document alone: occurrences of the query's words, per square root of its length. No statistic
 * over other users' documents (as BM25's idf would be) goes into what one user sees.
 */
function relevanceOf(text: string, words: ReadonlySet<string>): number {
  const all = tokenize(text);
  const hits = all.filter((w) => words.has(w)).length;
  return hits / Math.sqrt(Math.max(1, all.length));
}

function hitOf(doc: SearchDoc, at: ReadAt, words: ReadonlySet<string>): SearchHit {
  return {
    id: doc.id,
    conversation: doc.conversation,
    stream: at.stream,
    seq: at.seq,
    fromUser: doc.fromUser,
    sentAtMs: doc.sentAtMs,
    kind: doc.kind,
    snippet: snippetOf(doc.text, words),
  };
}
