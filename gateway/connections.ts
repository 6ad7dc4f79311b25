import type { Connection } from './connection.ts';
import { CloseCode } from './connection.ts';
import { Rooms } from './rooms.ts';

/**
 * The connections this gateway node holds: by connection id (what routes name), by device (one connection per
 * device: a newer one replaces the older), by user (how many each user holds), and the rooms they are in.
 */
export class ConnectionRegistry {
  private readonly byId = new Map<string, Connection>();
  private readonly byDevice = new Map<string, Connection>();
  private readonly perUser = new Map<string, number>();
  readonly rooms = new Rooms();

  get size(): number {
    return this.byId.size;
  }

  get(connId: string): Connection | undefined {
    return this.byId.get(connId);
  }

  has(conn: Connection): boolean {
    return this.byId.get(conn.connId) === conn;
  }

  values(): IterableIterator<Connection> {
    return this.byId.values();
  }

  /** Whether this device of `user` holds a connection here (a new one would replace it). */
  hasDevice(user: string, device: string): boolean {
    return this.byDevice.has(`${user}\n${device}`);
  }

  /** How many connections `user` holds on this node. */
  countOf(user: string): number {
    return this.perUser.get(user) ?? 0;
  }

  /** Adds a new connection; an older one of the same device is closed (it leaves when its close comes). */
  add(conn: Connection): void {
    this.byId.set(conn.connId, conn);
    this.perUser.set(conn.user, this.countOf(conn.user) + 1);
    const key = deviceKeyOf(conn);
    this.byDevice.get(key)?.close(CloseCode.replaced, 'replaced by a newer connection of this device');
    this.byDevice.set(key, conn);
  }

  /** Takes a closed connection out of everything it was in; false if it was not held. */
  remove(conn: Connection): boolean {
    if (!this.byId.delete(conn.connId)) return false;
    const left = this.countOf(conn.user) - 1;
    if (left > 0) this.perUser.set(conn.user, left);
    else this.perUser.delete(conn.user);
    this.rooms.leaveAll(conn);
    const key = deviceKeyOf(conn);
    if (this.byDevice.get(key) === conn) this.byDevice.delete(key);
    return true;
  }
}

function deviceKeyOf(conn: Connection): string {
  return `${conn.user}\n${conn.device}`;
}
