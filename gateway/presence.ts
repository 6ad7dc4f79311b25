import { UserState } from '../proto/gen/im/v1/bus.pb.ts';
import type { Bus } from '../lib/bus.ts';
import type { Logger } from '../lib/logger.ts';
import { topics } from '../lib/topics.ts';
import type { Route, RouteTable } from '../push/index.ts';
import type { Connection } from './connection.ts';
import type { ConnectionRegistry } from './connections.ts';

export interface PresenceOptions {
  node: string;
  /** How long a route lives without a refresh: a crashed gateway's routes expire after it. */
  routeTtlMs: number;
}

/**
 * Where this node's connections can be reached, told to the rest of the system. The gateway is the one writer of
 * its connections' routes (written at connect, refreshed, removed at close); push only reads them. Online and
 * offline events go to `user_state` for whoever acts on presence.
 */
export class Presence {
  private readonly refresh: NodeJS.Timeout;

  constructor(
    private readonly deps: { bus: Bus; routes: RouteTable; registry: ConnectionRegistry; log: Logger },
    private readonly options: PresenceOptions,
  ) {
    this.refresh = setInterval(() => this.refreshAll(), Math.max(100, Math.floor(options.routeTtlMs / 3)));
  }

  /** Writes the route of a new connection; a failure is logged, and the next refresh writes it again. */
  async routeUp(conn: Connection): Promise<void> {
    try {
      await this.deps.routes.put(this.routeOf(conn), this.options.routeTtlMs);
    } catch (err) {
      this.deps.log.warn({ err, user: conn.user }, 'could not write the route of a new connection');
    }
  }

  /** A closed connection: its route goes (one that expires by TTL otherwise), and the offline event out. */
  async down(conn: Connection): Promise<void> {
    const ref = { user: conn.user, device: conn.device, connId: conn.connId };
    await Promise.all([
      this.deps.routes.remove(ref).catch((err: unknown) => this.deps.log.warn({ err }, 'could not remove a route')),
      this.publish(conn, false),
    ]);
  }

  async publish(conn: Connection, online: boolean): Promise<void> {
    const state: UserState = {
      user: conn.user,
      device: conn.device,
      online,
      node: this.options.node,
      connId: conn.connId,
      nodeEpoch: 0,
      atMs: online ? conn.openedAtMs : Date.now(),
    };
    try {
      await this.deps.bus.publish(topics.userState.name, conn.user, UserState.encode(state).finish());
    } catch (err) {
      // Without the event the route is missing (online) or expires by TTL (offline); the client still syncs.
      this.deps.log.warn({ err, user: conn.user, online }, 'could not publish user_state');
    }
  }

  close(): void {
    clearInterval(this.refresh);
  }

  /**
   * A put, not a refresh: it also restores routes the store lost (a Redis restart), and never replaces a newer
   * connection's route (put compares the connection's start time).
   */
  private refreshAll(): void {
    const puts = [...this.deps.registry.values()].map((c) =>
      this.deps.routes.put(this.routeOf(c), this.options.routeTtlMs),
    );
    Promise.all(puts).catch((err: unknown) => this.deps.log.warn({ err }, 'route refresh failed'));
  }

  private routeOf(c: Connection): Route {
    return { user: c.user, device: c.device, node: this.options.node, connId: c.connId, atMs: c.openedAtMs };
  }
}
