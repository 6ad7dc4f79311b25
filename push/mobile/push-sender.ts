export type Platform = 'apns' | 'fcm';

export interface DeviceTarget {
  platform: Platform;
  token: string;
  /** APNs topic (bundle id) or FCM: unused */
  topic: string;
  environment: 'sandbox' | 'production';
}

export interface MobilePush {
  /** Idempotency: APNs apns-id (a UUID); for FCM kept in data as push_id. */
  id: string;
  target: DeviceTarget;
  /** A visible alert; absent: a silent (background) update that only sets the badge and carries data. */
  alert?: { title: string; body: string };
  badge: number;
  /** Per conversation: the lock screen shows the latest (apns-collapse-id, FCM collapse_key + android tag/notification tag). */
  collapseId: string;
  priority: 'high' | 'normal';
  /** When the provider should stop trying (apns-expiration, FCM ttl); 0: provider default. */
  expireAtMs: number;
  data: Record<string, string>;
  sound?: string;
}

export type SendOutcome =
  | { kind: 'sent'; providerId?: string }
  | { kind: 'dead-token'; reason: string } // APNs 410 Unregistered, 400 BadDeviceToken; FCM registration-token-not-registered, invalid-argument (token)
  | { kind: 'retry'; reason: string; retryAfterMs?: number } // 429, 5xx, connection errors
  | { kind: 'failed'; reason: string }; // anything else that retrying will not fix (e.g. payload too large)

/** One provider (port): `send` answers one outcome per push, in order, and never rejects for a push's failure. */
export interface PushSender {
  readonly platform: Platform;
  send(pushes: readonly MobilePush[]): Promise<SendOutcome[]>;
  close(): Promise<void>;
}
