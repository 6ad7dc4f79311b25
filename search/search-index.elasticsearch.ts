import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import { ImError } from '../lib/errors.ts';
import { CursorSeal, type SortKey } from './cursor.ts';
import { nextState, type DocState } from './doc-state.ts';
import { indexOfDoc, messagesAlias, WORDS_ANALYZER, type EsLayout } from './es-indices.ts';
import { narrowing, permitted } from './es-query-filters.ts';
import type {
  DocKind,
  IndexOp,
  InboxCopy,
  SearchDoc,
  SearchHit,
  SearchIndex,
  SearchPage,
  SearchRequest,
} from './search-index.ts';
import { checkSearchRequest } from './search-request.ts';
import { snippetOf, withoutMarks } from './snippet.ts';
import { tokenize } from './words.ts';
import { WriteBatcher } from './write-batcher.ts';

export interface EsSearchIndexOptions extends EsLayout {
  es: Client;
  /** Ops per bulk request (a request also goes at the end of each event-loop turn). Default 1,000. */
  maxBatch?: number;
  /** Bulk requests in flight at most; more writes wait (back-pressure). Default 4. */
  maxInFlight?: number;
  /** Tries of a request or item the cluster refuses for load (429) before the write fails. Default 8. */
  maxTries?: number;
  /** The first wait after a 429, doubled on each further try. Default 100 ms. */
  backoffMs?: number;
  cursorKey?: Uint8Array;
  now?: () => number;
}

/** What a search reads of each document it finds: what a hit shows, and the seq it needs for the reader. */
export const HIT_FIELDS = [
  'id',
  'conversation',
  'kind',
  'fromUser',
  'sentAtMs',
  'text',
  'inbox',
  'timelineStream',
  'timelineSeq',
];

/** Rounds of read, fold and write for ids that keep meeting a concurrent write (409) before a write fails. */
const MAX_ROUNDS = 10;

interface Stored {
  id: string;
  conversation: string;
  kind: DocKind;
  fromUser: string;
  sentAtMs: number;
  text: string;
  words: string;
  readers: string[];
  inbox: InboxCopy[];
  timelineStream?: string;
  timelineSeq?: number;
  noticeAppId?: string;
  noticeAudience?: string;
  expireAtMs?: number;
  deleted?: boolean;
}

/** A document as read, with the version a conditional write names. */
interface Current {
  state: DocState;
  version?: { if_seq_no: number; if_primary_term: number };
}

/**
 * The cluster mode's index: Elasticsearch 7.17, a document per message in monthly indices behind one alias
 * (es-indices.ts). Writes of concurrent callers go out together (write-batcher.ts, bounded in flight): the batch's
 * documents are read (mget, real time; a new message's is assumed absent and created), the ops folded in order by
 * the same rule as every adapter (doc-state.ts), and only what changed is written, each write conditional on the
 * version read (a concurrent write, or a document that was there after all, makes it 409, and that id is read and
 * folded again). No script: the engine infra/ runs has no lang-painless either. Items or
 * requests refused for load (429) are sent again after a growing wait. A write is searchable after the index's
 * refresh interval (1 s), never refreshed per write. The permission rule is a filter built here from the request's
 * user and scopes, the rule readable.ts states; the user's words go into a `match` query (no syntax). No total is
 * asked for or returned.
 */
export class EsSearchIndex implements SearchIndex {
  private readonly es: Client;
  private readonly layout: EsLayout;
  private readonly batcher: WriteBatcher<IndexOp>;
  private readonly seal: CursorSeal;
  private readonly now: () => number;
  private readonly maxTries: number;
  private readonly backoffMs: number;

  constructor(options: EsSearchIndexOptions) {
    this.es = options.es;
    this.layout = { prefix: options.prefix };
    this.seal = new CursorSeal(options.cursorKey);
    this.now = options.now ?? Date.now;
    this.maxTries = options.maxTries ?? 8;
    this.backoffMs = options.backoffMs ?? 100;
    this.batcher = new WriteBatcher((ops) => this.write(ops), {
      maxItems: options.maxBatch ?? 1_000,
      maxInFlight: options.maxInFlight ?? 4,
    });
  }

  apply(ops: readonly IndexOp[]): Promise<void> {
    return this.batcher.write(ops);
  }

  private async write(ops: IndexOp[]): Promise<void> {
    let pending = ops;
    for (let round = 1; pending.length > 0; round++) {
      if (round > MAX_ROUNDS) throw new Error(`search: documents kept changing under ${MAX_ROUNDS} writes`);
      const byId = new Map<string, IndexOp[]>();
      for (const op of pending) {
        const id = idOf(op);
        const list = byId.get(id);
        if (list) list.push(op);
        else byId.set(id, [op]);
      }
      // First round: an id whose first op is an upsert is most likely new (a message just sent), so it is not read
      // but created; if it was there after all (a replay, a notice's next chunk, a deletion kept), the create is a
      // 409 and the next round reads it. Half the round trips for the common case.
      const toRead = [...byId].filter(([, list]) => round > 1 || list[0]!.op !== 'upsert').map(([id]) => id);
      const current = await this.read(toRead);
      const lines: object[] = [];
      const written: string[] = [];
      for (const [id, list] of byId) {
        const before = current.get(id) ?? { state: undefined };
        const after = fold(before.state, list);
        if (after === before.state || after === undefined) continue;
        const target = { _index: indexOfDoc(this.layout, id), _id: id };
        lines.push(before.version ? { index: { ...target, ...before.version } } : { create: target });
        lines.push(after === 'deleted' ? { id, deleted: true } : stored(after));
        written.push(id);
      }
      const conflicted = await this.sendBulk(lines, written);
      pending = pending.filter((op) => conflicted.has(idOf(op)));
    }
  }

  /** The documents under `ids` as they are now (mget reads in real time, refresh or not). */
  private async read(ids: string[]): Promise<Map<string, Current>> {
    if (ids.length === 0) return new Map();
    const docs = ids.map((id) => ({ _index: indexOfDoc(this.layout, id), _id: id }));
    const { body } = await this.es.mget<{ docs: MgetDoc[] }>({ body: { docs } });
    const found = new Map<string, Current>();
    for (const doc of body.docs) {
      // Not found, or its month's index not created yet (an error item): nothing there.
      if (!doc.found || !doc._source) continue;
      const version = { if_seq_no: doc._seq_no!, if_primary_term: doc._primary_term! };
      found.set(doc._id, { state: fromStored(doc._source), version });
    }
    return found;
  }

  /** Sends the bulk until nothing is refused for load; returns the ids that met a concurrent write (409). */
  private async sendBulk(lines: object[], ids: string[]): Promise<Set<string>> {
    const conflicted = new Set<string>();
    let left = ids.map((id, i) => ({ id, lines: [lines[2 * i]!, lines[2 * i + 1]!] }));
    for (let tries = 1; left.length > 0; tries++) {
      if (tries > 1) await sleep(this.backoffMs * 2 ** (tries - 2));
      let items: BulkItem[];
      try {
        const { body } = await this.es.bulk<{ items: Record<string, BulkItem>[] }>({
          body: left.flatMap((l) => l.lines),
          // Only what is read below, each item's status and error: not its index, id, version and shards, which
          // Elasticsearch would write and this process parse for every document.
          filter_path: 'items.*.status,items.*.error',
        });
        items = body.items.map((item) => Object.values(item)[0]!);
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (tries < this.maxTries && (status === undefined || status === 429 || status === 503)) continue;
        throw err;
      }
      const again: typeof left = [];
      items.forEach((item, i) => {
        if (item.status < 300) return;
        if (item.status === 409) conflicted.add(left[i]!.id);
        else if (item.status === 429 && tries < this.maxTries) again.push(left[i]!);
        else throw new Error(`search: bulk item failed: ${item.status} ${JSON.stringify(item.error).slice(0, 300)}`);
      });
      left = again;
    }
    return conflicted;
  }

  async search(request: SearchRequest): Promise<SearchPage> {
    const query = checkSearchRequest(request);
    const after = this.seal.open(request);
    if (query.words.length === 0) return { hits: [] };
    const sort =
      request.order === 'newest' ? [{ sentAtMs: 'desc' }, { id: 'desc' }] : [{ _score: 'desc' }, { id: 'desc' }];
    const { body } = await this.es
      .search<EsAnswer>({
        index: messagesAlias(this.layout),
        body: {
          size: request.limit + 1,
          track_total_hits: false,
          query: {
            bool: {
              must: [{ match: { words: { query: query.words.join(' '), operator: 'and', analyzer: WORDS_ANALYZER } } }],
              filter: [permitted(request, this.now()), ...narrowing(request)],
              must_not: [{ term: { deleted: true } }],
            },
          },
          sort,
          ...(after ? { search_after: after } : {}),
          _source: HIT_FIELDS,
        },
      })
      .catch((err: unknown) => {
        // An alias that has no index yet (nothing indexed): no hits.
        if ((err as { statusCode?: number }).statusCode === 404) return { body: { hits: { hits: [] } } };
        throw new ImError('UNAVAILABLE', 'search is unavailable', { cause: err, retryAfterMs: 1_000 });
      });
    const found = body.hits.hits;
    const page = found.slice(0, request.limit);
    const words = new Set(query.words);
    const hits = page.map((h) => hitOf(h._source, request.user, words));
    const last = page.at(-1);
    if (found.length <= request.limit || !last) return { hits };
    return { hits, next: this.seal.seal(request, [Number(last.sort[0]), String(last.sort[1])] as SortKey) };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface EsAnswer {
  hits: { hits: { _source: Stored; sort: [number | string, string] }[] };
}

interface MgetDoc {
  _id: string;
  found?: boolean;
  _source?: Stored;
  _seq_no?: number;
  _primary_term?: number;
}

interface BulkItem {
  status: number;
  error?: unknown;
}

function idOf(op: IndexOp): string {
  return op.op === 'upsert' ? op.doc.id : op.id;
}

/**
 * The ops of one id folded in order onto what is there, by the rule of doc-state.ts. A document that is not there
 * and is upserted starts as the upsert gives it (its text cleaned as nextState cleans it), without the deep copy
 * (structuredClone) nextState makes for adapters that keep the object: this one turns it into JSON at once, and no
 * op changes a document in place. The same document; the copy was a fifth of the CPU of indexing a new message.
 */
function fold(state: DocState, ops: readonly IndexOp[]): DocState {
  let at = state;
  let i = 0;
  const first = ops[0];
  if (at === undefined && first?.op === 'upsert') {
    at = { ...first.doc, text: withoutMarks(first.doc.text) };
    i = 1;
  }
  for (; i < ops.length; i++) at = nextState(at, ops[i]!);
  return at;
}

/** A document as stored: flat fields, its words segmented, readers searchable (`readers`) and with seqs (`inbox`). */
function stored(doc: SearchDoc): Stored {
  return {
    id: doc.id,
    conversation: doc.conversation,
    kind: doc.kind,
    fromUser: doc.fromUser,
    sentAtMs: doc.sentAtMs,
    text: doc.text,
    words: tokenize(doc.text).join(' '),
    readers: doc.readers.map((r) => r.user),
    inbox: doc.readers.map((r) => ({ user: r.user, seq: r.seq })),
    ...(doc.timeline ? { timelineStream: doc.timeline.stream, timelineSeq: doc.timeline.seq } : {}),
    ...(doc.notice ? { noticeAppId: doc.notice.appId, noticeAudience: doc.notice.audience } : {}),
    ...(doc.notice && doc.notice.expireAtMs > 0 ? { expireAtMs: doc.notice.expireAtMs } : {}),
  };
}

function fromStored(source: Stored): DocState {
  if (source.deleted) return 'deleted';
  const doc: SearchDoc = {
    id: source.id,
    conversation: source.conversation,
    kind: source.kind,
    fromUser: source.fromUser,
    sentAtMs: source.sentAtMs,
    text: source.text,
    readers: source.inbox,
  };
  if (source.timelineStream !== undefined)
    doc.timeline = { stream: source.timelineStream, seq: source.timelineSeq ?? 0 };
  if (source.noticeAudience !== undefined) {
    doc.notice = {
      appId: source.noticeAppId ?? '',
      audience: source.noticeAudience,
      expireAtMs: source.expireAtMs ?? 0,
    };
  }
  return doc;
}

function hitOf(source: Stored, user: string, words: ReadonlySet<string>): SearchHit {
  const own = source.inbox.find((c) => c.user === user);
  return {
    id: source.id,
    conversation: source.conversation,
    stream: own ? 'inbox' : (source.timelineStream ?? ''),
    seq: own ? own.seq : (source.timelineSeq ?? 0),
    fromUser: source.fromUser,
    sentAtMs: source.sentAtMs,
    kind: source.kind,
    snippet: snippetOf(source.text, words),
  };
}
