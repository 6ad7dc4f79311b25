import { GatewayServiceService } from '../proto/gen/im/v1/services.pb.ts';
import type { ApiOf } from './grpc.ts';

/**
 * What a gateway node serves to push (Deliver, ChangeRooms). It lives in the kernel, below both: push calls it and
 * the gateway implements it, and neither imports the other for it.
 */
export type GatewayApi = ApiOf<typeof GatewayServiceService>;
export { GatewayServiceService };
