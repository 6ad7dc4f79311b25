import type { Connection } from './connection.ts';
import { prepareFrame } from './prepared-frame.ts';

/**
 * Gateway-local rooms: for each large group, the connections of this node whose users are members. A message to
 * the group reaches this node once and is written to every connection in the room from here, so the cost upstream
 * is one call per node, not one per member. Push keeps the rooms in step with membership (ChangeRooms); a
 * connection leaves all its rooms when it closes.
 */
export class Rooms {
  private readonly members = new Map<string, Set<Connection>>();
  /** The rooms of each connection, for leaving them all on close; only connections in a room have an entry. */
  private readonly roomsOf = new Map<Connection, Set<string>>();

  join(room: string, conn: Connection): boolean {
    let set = this.members.get(room);
    if (!set) this.members.set(room, (set = new Set()));
    if (set.has(conn)) return false;
    set.add(conn);
    let rooms = this.roomsOf.get(conn);
    if (!rooms) this.roomsOf.set(conn, (rooms = new Set()));
    rooms.add(room);
    return true;
  }

  leave(room: string, conn: Connection): boolean {
    const set = this.members.get(room);
    if (!set?.delete(conn)) return false;
    if (set.size === 0) this.members.delete(room);
    const rooms = this.roomsOf.get(conn);
    rooms?.delete(room);
    if (rooms?.size === 0) this.roomsOf.delete(conn);
    return true;
  }

  leaveAll(conn: Connection): void {
    for (const room of this.roomsOf.get(conn) ?? []) this.leave(room, conn);
  }

  /** Hands the frame to every connection in the room; returns how many took it. */
  send(room: string, frame: Uint8Array): number {
    const members = this.members.get(room);
    if (!members) return 0;
    const framed = prepareFrame(frame);
    let delivered = 0;
    for (const conn of members) if (conn.sendPrepared(framed, frame)) delivered++;
    return delivered;
  }

  size(room: string): number {
    return this.members.get(room)?.size ?? 0;
  }
}
