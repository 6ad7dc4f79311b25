import type { AckResult, SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import { SyncServiceService, type GetDiffRequest, type SyncAckRequest } from '../proto/gen/im/v1/services.pb.ts';
import { ImError } from '../lib/errors.ts';
import type { ApiOf } from '../lib/grpc.ts';
import type { OfflineApi } from '../offline/index.ts';
import { decodeSyncKey, encodeSyncKey, initialKey } from './sync-key.ts';

export type SyncApi = ApiOf<typeof SyncServiceService>;
export { SyncServiceService };

export const DEFAULT_SYNC_LIMIT = 100;
export const MAX_SYNC_LIMIT = 500;

/**
 * GetDiff over the user's streams. A key we cannot serve whole (another epoch, or behind what retention kept)
 * is answered with `reset` and a page from the start of what is kept: never a silent skip.
 */
export class Sync implements SyncApi {
  constructor(private readonly offline: OfflineApi) {}

  async getDiff({ user, syncKey, limit: requested }: GetDiffRequest): Promise<SyncResponse> {
    const { epoch } = await this.offline.getEpoch({});
    const limit = requested === 0 ? DEFAULT_SYNC_LIMIT : Math.min(requested, MAX_SYNC_LIMIT);
    let key = decodeSyncKey(syncKey, user, epoch);
    let reset = key.epoch !== epoch;
    if (reset) key = initialKey(user, epoch);
    let page = await this.offline.readInbox({ user, afterSeq: key.inboxSeq, limit });
    if (page.floorSeq > key.inboxSeq) {
      reset = true;
      key = { ...key, inboxSeq: page.floorSeq };
      page = await this.offline.readInbox({ user, afterSeq: key.inboxSeq, limit });
    }
    const last = page.messages.at(-1);
    const next = { ...key, inboxSeq: last ? last.seq : key.inboxSeq };
    // Counts come with the last page only: pages before it are still catching up.
    const unread = page.hasMore ? [] : (await this.offline.getUnread({ user })).conversations;
    return {
      messages: page.messages,
      syncKey: encodeSyncKey(next),
      hasMore: page.hasMore,
      reset,
      inboxSeq: next.inboxSeq,
      unread: unread.filter((c) => c.unread > 0),
      totalUnread: unread.reduce((sum, c) => sum + c.unread, 0),
    };
  }

  async ack({ user, device, syncKey, inboxSeq }: SyncAckRequest): Promise<AckResult> {
    const { epoch } = await this.offline.getEpoch({});
    const key = decodeSyncKey(syncKey, user, epoch);
    if (key.epoch !== epoch) throw new ImError('BAD_SYNC_KEY', 'sync_key is from an earlier epoch: sync again');
    const seq = Math.max(key.inboxSeq, inboxSeq);
    await this.offline.ackInbox({ user, device, seq });
    return { syncKey: encodeSyncKey({ ...key, inboxSeq: seq }), inboxSeq: seq };
  }
}
