/** The push providers: Apple Push Notification service and Firebase Cloud Messaging. */
export type Platform = 'apns' | 'fcm';

/** A device's push registration (per user and device). */
export interface DeviceToken {
  user: string;
  device: string;
  platform: Platform;
  /** The provider's token (APNs: hex; FCM: the registration token). At most 4096 characters. */
  token: string;
  /** APNs topic (bundle id); FCM: the app id or ''. */
  topic: string;
  environment: 'sandbox' | 'production';
  /** BCP 47, e.g. "en-US" ('' unknown). */
  locale: string;
  /** Whether the lock screen may show a message's text. */
  previews: boolean;
  updatedAtMs: number;
}

/**
 * The push tokens of users' devices (port): where a push for a device that is not connected goes.
 *
 * - `put` stores the registration of (user, device), replacing the device's previous one (a new token replaces the old).
 *   A token registered by another (user, device) before is moved: one token belongs to one device (a phone that changed
 *   hands must not get the previous owner's pushes).
 * - `remove(user, device)` drops the device's registration (logout); true if there was one.
 * - `removeToken(platform, token)` drops the registration holding this token wherever it is (the provider said it is
 *   dead), unless it was updated after `unlessUpdatedAfterMs` (a device that registered again since keeps its new one);
 *   returns how many were removed.
 * - `ofUsers(users)` returns each user's registrations (sorted by device), for many users in one call (a multicast of
 *   10,000 users asks once); users with none are absent from the map.
 *
 * A token is identified by (platform, token): the same string under the other platform is another token. The caller
 * checks the fields (a token of at most MAX_TOKEN_LENGTH characters, the enums); a store keeps what it is given.
 * Devices sort in JS string order (`byDevice`). Every registration a store returns is the caller's own copy, and
 * `put` keeps none of the caller's object.
 */
export interface DeviceTokenStore {
  put(token: DeviceToken): Promise<void>;
  remove(user: string, device: string): Promise<boolean>;
  /**
   * `unlessUpdatedAfterMs`: a registration whose `updatedAtMs` is greater is kept (e.g. APNs's 410 `timestamp`, when
   * the token stopped being valid, or the time the push was sent). Without it the registration is removed whatever
   * its time.
   */
  removeToken(platform: Platform, token: string, unlessUpdatedAfterMs?: number): Promise<number>;
  ofUsers(users: readonly string[]): Promise<Map<string, DeviceToken[]>>;
  /**
   * Every registration, a page at a time (a notice to everyone): the registrations of at most `limit` users (at
   * least 1), each user's sorted by device, a user's devices never split across pages. Users come in the adapter's
   * own order, which is stable (the same in every scan) but not necessarily JS string order: Cassandra's is its
   * partitioner's token order. `after` is '' for the first page, then the previous page's `next`, an opaque cursor;
   * `next` is absent when no user follows. A scan walked to its end returns every user registered throughout it
   * exactly once (with their registrations as of when their page was read); users registering or removed meanwhile
   * may be returned or not.
   */
  scan(page: { after: string; limit: number }): Promise<{ items: DeviceToken[]; next?: string }>;
}

/** The longest token a caller may register (characters); FCM's are about 160, APNs's 64 hex digits today. */
export const MAX_TOKEN_LENGTH = 4096;

/** A registration's own copy (every field is a primitive). */
export function copyToken(token: DeviceToken): DeviceToken {
  return {
    user: token.user,
    device: token.device,
    platform: token.platform,
    token: token.token,
    topic: token.topic,
    environment: token.environment,
    locale: token.locale,
    previews: token.previews,
    updatedAtMs: token.updatedAtMs,
  };
}

/** The order of a user's registrations: by device, in JS string order (what every adapter returns). */
export function byDevice(a: DeviceToken, b: DeviceToken): number {
  return a.device < b.device ? -1 : a.device > b.device ? 1 : 0;
}
