import { OfflineServiceService } from '../proto/gen/im/v1/services.pb.ts';
import type { ApiOf } from '../lib/grpc.ts';

/** What the offline service offers, derived from its gRPC definition: served in-process or over gRPC alike. */
export type OfflineApi = ApiOf<typeof OfflineServiceService>;
export { OfflineServiceService };
