import { coalesce, override } from '../lib/coalesce.ts';
import type { PushApi } from './api.ts';

/** Logic's DeliverMessages calls in flight at once go out as one (lib/coalesce.ts). */
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
