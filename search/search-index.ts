/** What a document is: a 1:1 message, a group message, or a system notice (a search may ask for one kind). */
export type DocKind = 'dm' | 'group' | 'notice';

/** An inbox that holds the message, and the message's seq there (each recipient has their own). */
export interface InboxCopy {
  user: string;
  seq: number;
}

/**
 * One searchable message, stored once however many read it. Who may read it is in the document itself:
 * - `readers`: the users whose own inbox holds it (1:1, small groups, notices to listed users): exactly what sync
 *   shows them, so a late joiner of a small group never had it and a member who left keeps what they got;
 * - `timeline`: a stream many read (a large group's, or the system timeline of notices to everyone or to a tag),
 *   which a reader may search only within the spans the service grants them (ReadableScopes).
 */
export interface SearchDoc {
  /** The server_msg_id (a ULID: its time also names the month the document lives in). */
  id: string;
  conversation: string;
  kind: DocKind;
  fromUser: string;
  sentAtMs: number;
  /** What is searched: a text message's body, or a notice's title and body. */
  text: string;
  readers: InboxCopy[];
  /** Set for an entry of a shared stream: "group:<id>" or "system", and the entry's seq in it. */
  timeline?: { stream: string; seq: number };
  /** Set for a notice: its app, audience ("users", "all", "tag:<tag>") and expiry (0: none). */
  notice?: { appId: string; audience: string; expireAtMs: number };
}

/**
 * A change to the index, applied in order (IndexOps of one message come in the order they were stored).
 * - `upsert` adds the document. If it is there, its readers grow by the new ones (a notice to 10,000 users is
 *   stored in chunks) and nothing else changes, so a replayed upsert changes nothing, and one replayed after an edit
 *   does not bring the old text back.
 * - `edit` replaces the text of a document that is there (none: nothing happens). `readers`, when given, are the
 *   users the edit reached: the others lose the document (they keep the old text in their inbox, but the index has
 *   only the new one, which they never got).
 * - `delete` takes the document out for good: a later upsert of the same id (a replay) does not bring it back.
 */
export type IndexOp =
  | { op: 'upsert'; doc: SearchDoc }
  | { op: 'edit'; id: string; text: string; readers?: string[] }
  | { op: 'delete'; id: string };

/** Inclusive bounds on the seq of a timeline entry and on its time; an absent bound is open. */
export interface Span {
  fromSeq?: number;
  toSeq?: number;
  fromMs?: number;
  toMs?: number;
}

/**
 * What a user may read beyond their own inbox, as the service computed it from its stores (never from the request):
 * - `timelines`: large groups by conversation ("group:<id>"), each with the spans of membership readable;
 * - `noticesToAll`: notices of the system timeline addressed to everyone;
 * - `noticeTags`: notices to a tag of an app the user carries, sent since they carried it.
 * Their own inbox (`SearchDoc.readers`) is always in: it is named by `SearchRequest.user`.
 */
export interface ReadableScopes {
  timelines: { conversation: string; spans: Span[] }[];
  noticesToAll: boolean;
  noticeTags: { appId: string; tag: string; sinceMs: number }[];
}

export type SearchOrder = 'newest' | 'relevance';

export interface SearchRequest {
  user: string;
  scopes: ReadableScopes;
  /** The user's words, as typed (checked by `parseQueryText`: no query syntax is ever interpreted). */
  text: string;
  conversation?: string;
  fromUser?: string;
  /** Inclusive bounds on sent_at_ms. */
  fromMs?: number;
  toMs?: number;
  kind?: DocKind;
  order: SearchOrder;
  /** 1..MAX_SEARCH_LIMIT. */
  limit: number;
  /** The previous page's `next`, for the same user and request. */
  cursor?: string;
}

/** Where in `text` a query word was found: [start, end) in UTF-16 code units. */
export type Highlight = [start: number, end: number];

export interface SearchHit {
  id: string;
  conversation: string;
  /** "inbox" (seq is the user's inbox seq), a large group's conversation, or "system". */
  stream: string;
  seq: number;
  fromUser: string;
  sentAtMs: number;
  kind: DocKind;
  /** A piece of the text around the first word found, at most SNIPPET_CHARS long. */
  snippet: { text: string; highlights: Highlight[] };
}

/** A page of hits, and the cursor of the next one if there may be more. No total: a count is a leak too. */
export interface SearchPage {
  hits: SearchHit[];
  next?: string;
}

/**
 * The full-text index of stored messages (port), one document per message.
 *
 * - `apply` applies the ops in order and resolves when they are durable in the index; a document is searchable
 *   within about a second after that (the adapter's refresh), never per document. Idempotent: applying the same ops
 *   again leaves the same documents (a replay after a crash writes nothing new).
 * - `search` returns only documents the request's user may read: one whose `readers` name them, or a timeline
 *   entry within their `scopes`, or a notice to everyone/a tag they are granted; an expired notice is never found.
 *   Every word must match (after the adapter's analysis: case-folded words, CJK text segmented). Hits come newest
 *   first (sent_at_ms, then id) or by relevance, `limit` per page; paging with `next` returns each hit once while
 *   the index does not change (relevance order may shift with writes in between). The cursor is sealed: it can
 *   only be used for the same user and request, and shows nothing. Bad input is an ImError INVALID_ARGUMENT.
 */
export interface SearchIndex {
  apply(ops: readonly IndexOp[]): Promise<void>;
  search(request: SearchRequest): Promise<SearchPage>;
  close(): Promise<void>;
}

export const MAX_SEARCH_LIMIT = 50;
export const SNIPPET_CHARS = 120;

/** Private-use characters marking highlights inside adapters; removed from indexed text so a body cannot fake one. */
export const MARK_START = '\ue000';
export const MARK_END = '\ue001';
