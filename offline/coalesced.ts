// Calls to offline, coalesced (lib/coalesce.ts): logic's sends in flight at once share one AllocateSeqs and one
// WriteInbox call, and their reads (read markers, large-group heads) one ReadInboxes, one GetHeads and one
// GetUnreads. (Sync reads offline's stores in-process: decision 0015.)
// Writes merge safely because the bus hands logic one record per conversation at a time, so a merged request
// never carries two entries that must be ordered against each other.
import type { UpdateUnreadRequest } from '../proto/gen/im/v1/services.pb.ts';
import { batched, coalesce, override, sliceBySizes } from '../lib/coalesce.ts';
import type { OfflineApi } from './api.ts';

export function coalescedOffline(offline: OfflineApi): OfflineApi {
  return override(offline, {
    allocateSeqs: coalesce((r) => offline.allocateSeqs(r), {
      join: (requests) => ({ users: requests.flatMap((r) => r.users) }),
      split: ({ seqs }, requests) =>
        sliceBySizes(
          seqs,
          requests.map((r) => r.users.length),
        ).map((s) => ({ seqs: s })),
    }),
    writeInbox: coalesce((r) => offline.writeInbox(r), {
      join: (requests) => {
        const unread = requests.flatMap((r) => (r.unread ? [r.unread] : []));
        return { entries: requests.flatMap((r) => r.entries), unread: unread.length ? joinUnread(unread) : undefined };
      },
      split: (response, requests) => requests.map(() => response),
    }),
    readInbox: batched(
      (r) => offline.readInbox(r),
      async (reads) => (await offline.readInboxes({ reads: [...reads] })).pages,
    ),
    getUnread: batched(
      (r) => offline.getUnread(r),
      async (requests) => (await offline.getUnreads({ requests: [...requests] })).responses,
    ),
    getHeads: coalesce((r) => offline.getHeads(r), {
      join: (requests) => ({ streams: requests.flatMap((r) => r.streams) }),
      split: ({ heads }, requests) =>
        sliceBySizes(
          heads,
          requests.map((r) => r.streams.length),
        ).map((h) => ({ heads: h })),
    }),
  });
}

function joinUnread(updates: readonly UpdateUnreadRequest[]): UpdateUnreadRequest {
  return {
    arrived: updates.flatMap((u) => u.arrived),
    recalled: updates.flatMap((u) => u.recalled),
    read: updates.flatMap((u) => u.read),
    timelineRead: updates.flatMap((u) => u.timelineRead),
  };
}
