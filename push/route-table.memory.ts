import type { Route, RouteRef, RouteTable } from './route-table.ts';

interface Stored {
  route: Route;
  expiresAt: number;
}

export class MemoryRouteTable implements RouteTable {
  /** user -> device -> route */
  private readonly routes = new Map<string, Map<string, Stored>>();

  constructor(private readonly now: () => number = Date.now) {}

  put(route: Route, ttlMs: number): Promise<void> {
    let devices = this.routes.get(route.user);
    if (!devices) this.routes.set(route.user, (devices = new Map<string, Stored>()));
    const current = this.live(route.user, route.device);
    if (!current || current.route.atMs <= route.atMs) {
      devices.set(route.device, { route, expiresAt: this.now() + ttlMs });
    }
    return Promise.resolve();
  }

  remove(ref: RouteRef): Promise<void> {
    const devices = this.routes.get(ref.user);
    if (devices?.get(ref.device)?.route.connId === ref.connId) {
      devices.delete(ref.device);
      if (devices.size === 0) this.routes.delete(ref.user);
    }
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
      for (const device of devices.keys()) {
        const stored = this.live(user, device);
        if (stored) live.push(stored.route);
      }
      if (live.length) found.set(user, live);
    }
    return Promise.resolve(found);
  }

  private live(user: string, device: string): Stored | undefined {
    const devices = this.routes.get(user);
    const stored = devices?.get(device);
    if (stored && stored.expiresAt <= this.now()) {
      devices!.delete(device);
      if (devices!.size === 0) this.routes.delete(user);
      return undefined;
    }
    return stored;
  }
}
