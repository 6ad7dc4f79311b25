import { PushServiceService } from '../proto/gen/im/v1/services.pb.ts';
import type { ApiOf } from '../lib/grpc.ts';

/** What the push service offers, derived from its gRPC definition: served in-process or over gRPC alike. */
export type PushApi = ApiOf<typeof PushServiceService>;
export { PushServiceService };
