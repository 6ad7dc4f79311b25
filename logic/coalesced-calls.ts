// Calls to offline and push, coalesced: the sends in flight at once (one per conversation the bus hands over
// concurrently) share one AllocateSeqs, one WriteInbox and one DeliverMessages call; the GetDiffs in flight at once
// share one ReadInboxes, one GetHeads and one GetUnreads call.
// Safe to merge because the bus hands over one record per conversation at a time, so merged requests never
// carry two entries that must be ordered against each other.
import type { UpdateUnreadRequest } from '../proto/gen/im/v1/services.pb.ts';
import { batched, coalesce } from '../lib/coalesce.ts';
import type { OfflineApi } from '../offline/index.ts';
import type { PushApi } from '../push/index.ts';

export function coalescedOffline(offline: OfflineApi): OfflineApi {
  return override(offline, {
    allocateSeqs: coalesce((r) => offline.allocateSeqs(r), {
      join: (requests) => ({ users: requests.flatMap((r) => r.users) }),
      split: ({ seqs }, requests) => {
        let at = 0;
        return requests.map((r) => ({ seqs: seqs.slice(at, (at += r.users.length)) }));
      },
    }),
    writeInbox: coalesce((r) => offline.writeInbox(r), {
      join: (requests) => {
        const unread = requests.flatMap((r) => (r.unread ? [r.unread] : []));
        return { entries: requests.flatMap((r) => r.entries), unread: unread.length ? joinUnread(unread) : undefined };
      },
      split: (response, requests) => requests.map(() => response),
    }),
    // Reads: what many concurrent GetDiffs of a reconnect storm make (sync's calls; logic's own reads too).
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
      split: ({ heads }, requests) => {
        let at = 0;
        return requests.map((r) => ({ heads: heads.slice(at, (at += r.streams.length)) }));
      },
    }),
  });
}

export function coalescedPush(push: PushApi): PushApi {
  return override(push, {
    // `delivered` of each answer counts the merged call's connections: logic only needs to know the call ran.
    deliverMessages: coalesce((r) => push.deliverMessages(r), {
      join: (requests) => ({
        deliveries: requests.flatMap((r) => r.deliveries),
        direct: requests.flatMap((r) => r.direct),
      }),
      split: (response, requests) => requests.map(() => response),
    }),
  });
}

/** `target` with some methods replaced (a Proxy: the API may be a class instance, whose methods a spread loses). */
function override<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get: (t, key) => (key in overrides ? overrides[key as keyof T] : Reflect.get(t, key)),
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
