import type { Route, RouteRef, RouteTable } from './route-table.ts';

interface Stored {
  route: Route;
  expiresAt: number;
}

export class MemoryRouteTable implements RouteTable {
  /**
   * user -> the routes of its devices. A short array, not a Map per user: a user has a few devices, and in
   * embedded mode every connected user holds one of these (idle memory per connection).
   */
  private readonly routes = new Map<string, Stored[]>();

  constructor(private readonly now: () => number = Date.now) {}

  put(route: Route, ttlMs: number): Promise<void> {
    const current = this.live(route.user, route.device);
    if (current && current.route.atMs > route.atMs) return Promise.resolve();
    const stored = { route, expiresAt: this.now() + ttlMs };
    const devices = this.routes.get(route.user);
    if (!devices) this.routes.set(route.user, [stored]);
    else if (current) devices[devices.indexOf(current)] = stored;
    else devices.push(stored);
    return Promise.resolve();
  }

  remove(ref: RouteRef): Promise<void> {
    const devices = this.routes.get(ref.user);
    const at = devices?.findIndex((s) => s.route.device === ref.device && s.route.connId === ref.connId) ?? -1;
    if (at >= 0) this.drop(ref.user, devices!, at);
    return Promise.resolve();
  }

  refresh(refs: readonly RouteRef[], ttlMs: number): Promise<void> {
    const expiresAt = this.now() + ttlMs;
    for (const ref of refs) {
      const stored = this.live(ref.user, ref.device);
      if (stored?.route.connId === ref.connId) stored.expiresAt = expiresAt;
    }
    return Promise.resolve();
  }

  lookup(users: readonly string[]): Promise<Map<string, Route[]>> {
    const found = new Map<string, Route[]>();
    for (const user of users) {
      const devices = this.routes.get(user);
      if (!devices) continue;
      const live: Route[] = [];
      for (const { route } of [...devices]) {
        const stored = this.live(user, route.device);
        if (stored) live.push(stored.route);
      }
      if (live.length) found.set(user, live);
    }
    return Promise.resolve(found);
  }

  private live(user: string, device: string): Stored | undefined {
    const devices = this.routes.get(user);
    const at = devices?.findIndex((s) => s.route.device === device) ?? -1;
    if (at < 0) return undefined;
    const stored = devices![at]!;
    if (stored.expiresAt <= this.now()) {
      this.drop(user, devices!, at);
      return undefined;
    }
    return stored;
  }

  private drop(user: string, devices: Stored[], at: number): void {
    devices.splice(at, 1);
    if (devices.length === 0) this.routes.delete(user);
  }
}
