import type { GatewayDeliverRequest, GatewayDeliverResponse } from '../proto/gen/im/v1/services.pb.ts';
import type { ChangeRoomsRequest, ChangeRoomsResponse } from '../proto/gen/im/v1/services.pb.ts';
import type { GatewayApi } from '../lib/gateway-api.ts';
import type { ConnectionRegistry } from './connections.ts';
import { prepareFrame } from './prepared-frame.ts';

/** The Deliver API push calls on this node, with its counters. */
export class DeliverApi implements GatewayApi {
  /** Deliver calls this node has answered. */
  deliverCalls = 0;
  /** Of those, the ones that carried room frames (push makes one per node for a large group's message). */
  roomCalls = 0;

  constructor(private readonly registry: ConnectionRegistry) {}

  deliver({ items, rooms: roomFrames }: GatewayDeliverRequest): Promise<GatewayDeliverResponse> {
    this.deliverCalls++;
    if (roomFrames.length > 0) this.roomCalls++;
    let delivered = 0;
    for (const { room, frame } of roomFrames) delivered += this.registry.rooms.send(room, frame);
    const gone: string[] = [];
    const full: string[] = [];
    for (const { connIds, frame, ifRoom } of items) {
      // Framed once for all its connections; one connection is framed by ws as any other send.
      const framed = connIds.length > 1 && !ifRoom ? prepareFrame(frame) : undefined;
      for (const id of connIds) {
        const conn = this.registry.get(id);
        if (!conn) gone.push(id);
        else if (ifRoom) {
          const sent = conn.sendIfRoom(frame);
          if (sent === 'sent') delivered++;
          else if (sent === 'full') full.push(id);
        } else if (framed ? conn.sendPrepared(framed, frame) : conn.sendBytes(frame)) delivered++;
      }
    }
    return Promise.resolve({ delivered, goneConnIds: gone, fullConnIds: full });
  }

  changeRooms({ changes }: ChangeRoomsRequest): Promise<ChangeRoomsResponse> {
    let changed = 0;
    const gone: string[] = [];
    const rooms = this.registry.rooms;
    for (const { room, connIds, join } of changes) {
      for (const id of connIds) {
        const conn = this.registry.get(id);
        if (!conn) gone.push(id);
        else if (join ? rooms.join(room, conn) : rooms.leave(room, conn)) changed++;
      }
    }
    return Promise.resolve({ changed, goneConnIds: gone });
  }
}
