import type { Message } from '../proto/gen/im/v1/message.pb.ts';
import { indexOpsOf, type IndexingOptions, type StoredEntry } from './indexing.ts';
import type { SearchIndex } from './search-index.ts';

/** How far a reindex got: entries read from the stores, and index ops applied. */
export interface ReindexCounts {
  scanned: number;
  applied: number;
}

export interface ReindexOptions extends IndexingOptions {
  /** Entries per apply (default 500). */
  batch?: number;
  /** Called after each batch. */
  onProgress?: (counts: ReindexCounts) => void;
  /** Stops the reindex at its next batch (a process shutting down). */
  signal?: AbortSignal;
}

/**
 * Rebuilds the index from every stored inbox entry, in whatever order the store scans them (a user's entries in seq
 * order, users in any order), into the index as it is: what is there stays, what is missing is added, and applying
 * the stores again changes nothing (the ops are the live indexer's, and doc-state.ts makes them idempotent).
 *
 * Order matters only for edits: an edit of a document not yet indexed does nothing, and a scan may meet a reader's
 * copy of the edit before any copy of the original. So originals, timeline entries, recalls and tombstones are
 * applied as they come (a delete leaves a tombstone, which a later upsert of the same id does not undo), and edits
 * are held, each with the inboxes it reached, and applied at the end in the order they were made (their ids are
 * ULIDs). Memory grows with the number of edits, not of messages.
 */
export async function reindex(
  entries: AsyncIterable<StoredEntry>,
  index: SearchIndex,
  options: ReindexOptions = {},
): Promise<ReindexCounts> {
  const size = options.batch ?? 500;
  const counts: ReindexCounts = { scanned: 0, applied: 0 };
  const edits = new Map<string, StoredEntry[]>();
  let batch: StoredEntry[] = [];
  const flush = async () => {
    options.signal?.throwIfAborted();
    const ops = indexOpsOf(batch, options);
    if (ops.length > 0) await index.apply(ops);
    counts.applied += ops.length;
    batch = [];
    options.onProgress?.({ ...counts });
  };
  for await (const entry of entries) {
    counts.scanned++;
    const message = entry.message;
    if (message && isEdit(message)) {
      const held = edits.get(message.serverMsgId);
      if (held) held.push(entry);
      else edits.set(message.serverMsgId, [entry]);
      continue;
    }
    batch.push(entry);
    if (batch.length >= size) await flush();
  }
  await flush();
  for (const id of [...edits.keys()].sort()) {
    batch.push(...edits.get(id)!);
    // One edit's copies stay in one apply: its readers are the inboxes it reached, all of them.
    if (batch.length >= size) await flush();
  }
  await flush();
  return counts;
}

function isEdit(message: Message): boolean {
  return message.op?.kind?.$case === 'edit';
}
