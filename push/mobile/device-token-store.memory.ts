import { byDevice, copyToken, type DeviceToken, type DeviceTokenStore, type Platform } from './device-token-store.ts';

/**
 * Registrations in Maps, indexed both ways: the default for tests and a single process without a data directory.
 * The index by token always names the one (user, device) holding it.
 */
export class MemoryDeviceTokenStore implements DeviceTokenStore {
  /** user → device → registration. */
  private readonly byUser = new Map<string, Map<string, DeviceToken>>();
  /** tokenKey(platform, token) → the registration holding it. */
  private readonly byToken = new Map<string, DeviceToken>();

  put(token: DeviceToken): Promise<void> {
    const next = copyToken(token);
    const key = tokenKey(next.platform, next.token);
    const holder = this.byToken.get(key);
    // The token moves: its previous device loses its registration.
    if (holder && (holder.user !== next.user || holder.device !== next.device)) this.drop(holder);
    const previous = this.byUser.get(next.user)?.get(next.device);
    if (previous) this.drop(previous);
    let devices = this.byUser.get(next.user);
    if (!devices) this.byUser.set(next.user, (devices = new Map<string, DeviceToken>()));
    devices.set(next.device, next);
    this.byToken.set(key, next);
    return Promise.resolve();
  }

  remove(user: string, device: string): Promise<boolean> {
    const registration = this.byUser.get(user)?.get(device);
    if (registration) this.drop(registration);
    return Promise.resolve(registration !== undefined);
  }

  removeToken(platform: Platform, token: string, unlessUpdatedAfterMs?: number): Promise<number> {
    const holder = this.byToken.get(tokenKey(platform, token));
    if (!holder || (unlessUpdatedAfterMs !== undefined && holder.updatedAtMs > unlessUpdatedAfterMs))
      return Promise.resolve(0);
    this.drop(holder);
    return Promise.resolve(1);
  }

  ofUsers(users: readonly string[]): Promise<Map<string, DeviceToken[]>> {
    const found = new Map<string, DeviceToken[]>();
    for (const user of users) {
      const devices = this.byUser.get(user);
      if (!devices || found.has(user)) continue;
      found.set(user, [...devices.values()].map(copyToken).sort(byDevice));
    }
    return Promise.resolve(found);
  }

  /** Users in JS string order; the cursor is the last user shown. */
  scan({ after, limit }: { after: string; limit: number }): Promise<{ items: DeviceToken[]; next?: string }> {
    const users = [...this.byUser.keys()].filter((user) => user > after).sort(byString);
    const shown = users.slice(0, limit);
    const items = shown.flatMap((user) => [...this.byUser.get(user)!.values()].map(copyToken).sort(byDevice));
    return Promise.resolve(users.length > limit ? { items, next: shown.at(-1)! } : { items });
  }

  /** Removes a stored registration from both indexes. */
  private drop(registration: DeviceToken): void {
    const devices = this.byUser.get(registration.user)!;
    devices.delete(registration.device);
    if (devices.size === 0) this.byUser.delete(registration.user);
    this.byToken.delete(tokenKey(registration.platform, registration.token));
  }
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Platforms hold no ':', so the platform before it tells every (platform, token) apart. */
function tokenKey(platform: Platform, token: string): string {
  return `${platform}:${token}`;
}
