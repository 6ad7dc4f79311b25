// Calls to sync, coalesced (lib/coalesce.ts): the acks a gateway forwards in one event-loop turn share one AckMany
// call instead of one Ack each (after a reconnect storm's syncs come thousands of acks at once).
import { batched, override } from '../lib/coalesce.ts';
import type { SyncApi } from './api.ts';

export function coalescedSync(sync: SyncApi): SyncApi {
  return override(sync, {
    ack: batched(
      (r) => sync.ack(r),
      async (requests) => (await sync.ackMany({ requests: [...requests] })).results,
    ),
  });
}
