import { SyncServiceService } from '../proto/gen/im/v1/services.pb.ts';
import type { ApiOf } from '../lib/grpc.ts';

/** What the sync service offers, derived from its gRPC definition: served in-process or over gRPC alike. */
export type SyncApi = ApiOf<typeof SyncServiceService>;
export { SyncServiceService };
