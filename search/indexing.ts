import type { Message } from '../proto/gen/im/v1/message.pb.ts';
import { isGroupConversation, SYSTEM_CONVERSATION } from '../lib/conversation.ts';
import { isGroupStream, SYSTEM_STREAM } from '../offline/index.ts';
import { searchIndexBehindSeconds, searchIndexEntries, searchIndexLagSeconds } from './metrics.ts';
import type { IndexOp, SearchDoc, SearchIndex } from './search-index.ts';

/** An entry as offline stored it: the inbox it went to (a user, "g:<id>" or "s:system") and the message at its seq. */
export interface StoredEntry {
  user: string;
  message?: Message | undefined;
}

/** Content types of end-to-end encrypted bodies: never indexed, whatever `indexable` says (the server cannot read them). */
export function isEndToEndEncrypted(contentType: string): boolean {
  return contentType.toLowerCase().startsWith('application/x-e2e');
}

export interface IndexingOptions {
  /** Content types whose body is UTF-8 text to index. Default: text/plain only (images, files, ciphertext are not). */
  indexable?: ReadonlySet<string>;
  /** Whether notices from apps are indexed (title and body). Default true. */
  notices?: boolean;
}

const TEXT_ONLY: ReadonlySet<string> = new Set(['text/plain']);
const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * What stored entries mean for the index, in order: a message or notice is upserted (its readers are the users
 * whose inbox got it; a large group's or the system timeline's entry is a timeline document), an edit re-indexes
 * the text (for the users it reached), a recall (of a message, or a cancelled notice) deletes, and a tombstone
 * deletes. Read markers and mutes are nothing to search. Entries of one message arrive together (one inbox write)
 * or in chunks (a notice to many users): each chunk upserts the same id, and readers merge. Pure: a replay maps to
 * the same ops, and applying them again changes nothing (doc-state.ts).
 */
export function indexOpsOf(entries: readonly StoredEntry[], options: IndexingOptions = {}): IndexOp[] {
  const byMessage = new Map<string, { message: Message; inboxes: StoredEntry[] }>();
  for (const entry of entries) {
    const message = entry.message;
    if (!message) continue;
    const group = byMessage.get(message.serverMsgId);
    if (group) group.inboxes.push(entry);
    else byMessage.set(message.serverMsgId, { message, inboxes: [entry] });
  }
  const ops: IndexOp[] = [];
  for (const { message, inboxes } of byMessage.values()) {
    const op = opOf(message, inboxes, options);
    searchIndexEntries.inc({ outcome: op ? op.op : skipReason(message) }, inboxes.length);
    if (op) ops.push(op);
  }
  return ops;
}

function opOf(message: Message, inboxes: StoredEntry[], options: IndexingOptions): IndexOp | undefined {
  const kind = message.op?.kind;
  if (kind?.$case === 'recall') return { op: 'delete', id: kind.value.serverMsgId };
  if (kind?.$case === 'edit') {
    const id = kind.value.serverMsgId;
    // An edit into content the index may not hold (e.g. now encrypted) takes the old text away.
    if (!isIndexable(message, options)) return { op: 'delete', id };
    const users = inboxes.filter((e) => !isSharedInbox(e.user)).map((e) => e.user);
    const text = textOf(message);
    return users.length > 0 ? { op: 'edit', id, text, readers: users } : { op: 'edit', id, text };
  }
  if (kind) return undefined;
  if (message.recalled) return { op: 'delete', id: message.serverMsgId };
  if (!isIndexable(message, options)) return undefined;
  return { op: 'upsert', doc: docOf(message, inboxes) };
}

function docOf(message: Message, inboxes: StoredEntry[]): SearchDoc {
  const doc: SearchDoc = {
    id: message.serverMsgId,
    conversation: message.conversation,
    kind: message.notice ? 'notice' : isGroupConversation(message.conversation) ? 'group' : 'dm',
    fromUser: message.fromUser,
    sentAtMs: message.sentAtMs,
    text: textOf(message),
    readers: inboxes.filter((e) => !isSharedInbox(e.user)).map((e) => ({ user: e.user, seq: e.message!.seq })),
  };
  const shared = inboxes.find((e) => isSharedInbox(e.user));
  if (shared) {
    const stream = shared.user === SYSTEM_STREAM ? SYSTEM_CONVERSATION : message.conversation;
    doc.timeline = { stream, seq: shared.message!.seq };
  }
  const notice = message.notice;
  if (notice) doc.notice = { appId: notice.appId, audience: notice.audience, expireAtMs: notice.expireAtMs };
  return doc;
}

/**
 * Whether a stored message changes the index: an edit or a recall, a tombstone, or indexable content. Cluster mode
 * publishes only these on search_input; read markers, mutes and images never leave logic for it.
 */
export function mattersToSearch(message: Message, options: IndexingOptions = {}): boolean {
  const kind = message.op?.kind;
  if (kind) return kind.$case === 'recall' || kind.$case === 'edit';
  return message.recalled || isIndexable(message, options);
}

/** The document a stored message changes: an edit's or a recall's target, else its own. */
export function docIdOf(message: Message): string {
  const kind = message.op?.kind;
  return kind?.$case === 'recall' || kind?.$case === 'edit' ? kind.value.serverMsgId : message.serverMsgId;
}

/** The switch: text messages (by content type) and notices; never end-to-end ciphertext. */
function isIndexable(message: Message, options: IndexingOptions): boolean {
  if (isEndToEndEncrypted(message.contentType)) return false;
  if (message.notice) return options.notices ?? true;
  return (options.indexable ?? TEXT_ONLY).has(message.contentType);
}

function textOf(message: Message): string {
  const notice = message.notice;
  if (notice) return notice.body === '' ? notice.title : `${notice.title}\n${notice.body}`;
  return utf8.decode(message.body);
}

function isSharedInbox(inbox: string): boolean {
  return isGroupStream(inbox) || inbox === SYSTEM_STREAM;
}

function skipReason(message: Message): string {
  if (message.op) return 'skipped_op';
  return isEndToEndEncrypted(message.contentType) ? 'skipped_e2e' : 'skipped_content_type';
}

/**
 * The indexing consumer's core: maps what was stored to index ops, applies them, and records the lag. `handle`
 * resolves once the index has the ops, so a bus consumer that awaits it before its offset is committed never loses
 * one (a crash replays them, and they apply again to the same documents).
 */
export class SearchIndexer {
  constructor(
    private readonly index: SearchIndex,
    private readonly options: IndexingOptions = {},
    private readonly now: () => number = Date.now,
  ) {}

  async handle(entries: readonly StoredEntry[]): Promise<void> {
    const ops = indexOpsOf(entries, this.options);
    if (ops.length === 0) return;
    await this.index.apply(ops);
    const nowMs = this.now();
    let newest = -Infinity;
    for (const entry of entries) {
      const sent = entry.message?.sentAtMs;
      if (sent !== undefined && sent > newest) newest = sent;
    }
    if (newest === -Infinity) return;
    const lag = Math.max(0, (nowMs - newest) / 1000);
    for (const op of ops) searchIndexLagSeconds.observe({ op: op.op }, lag);
    searchIndexBehindSeconds.set(lag);
  }
}
