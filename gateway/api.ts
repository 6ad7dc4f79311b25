import { GatewayServiceService } from '../proto/gen/im/v1/services.pb.ts';
import type { ApiOf } from '../lib/grpc.ts';

export type GatewayApi = ApiOf<typeof GatewayServiceService>;
export { GatewayServiceService };
