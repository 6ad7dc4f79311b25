import type { Client } from '@elastic/elasticsearch';

/**
 * Where message documents live in Elasticsearch:
 *   <prefix>-messages-YYYY.MM   one index per month of the message's server_msg_id (a ULID: its time), so a month
 *                               is dropped whole when retention passes it, and every op on a message finds its index
 *                               from the id alone
 *   <prefix>-messages           the alias over all of them that searches read
 *   <prefix>-messages           the composable index template (same name) that gives each new month its settings,
 *                               mappings and the alias, when its first document is written
 */
export interface EsLayout {
  /** e.g. "im"; tests use a prefix per run. Lower case, no "*". */
  prefix: string;
}

export function messagesAlias({ prefix }: EsLayout): string {
  return `${prefix}-messages`;
}

export function monthIndex(layout: EsLayout, atMs: number): string {
  const d = new Date(atMs);
  return `${messagesAlias(layout)}-${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The time a ULID was made (its first 10 characters), or 0 for an id that is not one (its documents go to 1970.01). */
export function ulidTimeMs(id: string): number {
  if (id.length !== 26) return 0;
  let ms = 0;
  for (const ch of id.slice(0, 10).toUpperCase()) {
    const digit = CROCKFORD.indexOf(ch);
    if (digit < 0) return 0;
    ms = ms * 32 + digit;
  }
  return ms;
}

/** The index a message's document is in. */
export function indexOfDoc(layout: EsLayout, id: string): string {
  return monthIndex(layout, ulidTimeMs(id));
}

export interface TemplateOptions {
  /** Primary shards per month (1 suits one node; a month of 30M messages is still a small shard). */
  shards?: number;
  /** 1 in production; 0 on one node (the local engine), where a replica could never be placed. */
  replicas?: number;
  /** How soon a write is searchable: "1s" meets "searchable within 2 s" without a refresh per document. */
  refreshInterval?: string;
}

/**
 * Words are segmented in Node (words.ts: ICU's dictionary for CJK, the same words the embedded index has) and stored
 * in `words`, folded and separated by spaces; Elasticsearch only splits them at spaces (`whitespace`, a core
 * analyzer). Decision 0031 says why not cjk_bigram: the engine infra/ runs loads no analysis-common module (neither
 * cjk_bigram nor cjk_width exists there), and dictionary words are more precise than pairs of characters anyway.
 */
export const WORDS_ANALYZER = 'whitespace';

/**
 * A document as stored (flat, so every filter is a term or range on one field). A deleted message keeps a tombstone
 * `{id, deleted: true}` (no text, no readers), so a replayed upsert of it stays a no-op.
 */
export const MAPPINGS = {
  dynamic: 'strict',
  properties: {
    id: { type: 'keyword' },
    conversation: { type: 'keyword' },
    kind: { type: 'keyword' },
    fromUser: { type: 'keyword' },
    sentAtMs: { type: 'long' },
    // Returned for the snippet, never searched (`words` is).
    text: { type: 'text', index: false },
    words: { type: 'text', analyzer: WORDS_ANALYZER, norms: true },
    readers: { type: 'keyword' },
    // Each reader's inbox seq: returned with a hit, never searched.
    inbox: { type: 'object', enabled: false },
    timelineStream: { type: 'keyword' },
    timelineSeq: { type: 'long' },
    noticeAppId: { type: 'keyword' },
    noticeAudience: { type: 'keyword' },
    expireAtMs: { type: 'long' },
    deleted: { type: 'boolean' },
  },
} as const;

/** Creates or updates the index template (idempotent; what infra runs before the search service starts). */
export async function putMessagesTemplate(es: Client, layout: EsLayout, options: TemplateOptions = {}): Promise<void> {
  const alias = messagesAlias(layout);
  await es.indices.putIndexTemplate({
    name: alias,
    body: {
      index_patterns: [`${alias}-*`],
      // Above the default templates' 100 (and far above the local engine's catch-all legacy template).
      priority: 200,
      template: {
        settings: {
          number_of_shards: options.shards ?? 1,
          number_of_replicas: options.replicas ?? 1,
          refresh_interval: options.refreshInterval ?? '1s',
        },
        mappings: MAPPINGS,
        aliases: { [alias]: {} },
      },
    },
  });
}

/** Drops the months wholly before `cutoffMs` (retention); returns the indices dropped. */
export async function dropMonthsBefore(es: Client, layout: EsLayout, cutoffMs: number): Promise<string[]> {
  const alias = messagesAlias(layout);
  const { body } = await es.cat.indices<{ index: string }[]>({ index: `${alias}-*`, format: 'json', h: 'index' });
  const cutoff = monthIndex(layout, cutoffMs);
  // Names sort as their months do (YYYY.MM): every index before the cutoff's month ended before the cutoff.
  const old = body.map((row) => row.index).filter((name) => /\d{4}\.\d{2}$/.test(name) && name < cutoff);
  if (old.length > 0) await es.indices.delete({ index: old.join(',') });
  return old;
}
