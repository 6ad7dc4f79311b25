import type { PushDevice, PushRegistration } from '../../proto/gen/im/v1/client.pb.ts';
import { echo } from '../../lib/echo.ts';
import { ImError } from '../../lib/errors.ts';
import { MAX_TOKEN_LENGTH, type DeviceToken, type DeviceTokenStore, type Platform } from './device-token-store.ts';

const PLATFORMS: readonly Platform[] = ['apns', 'fcm'];
const TOKEN = /^[\x21-\x7e]+$/;
const TOPIC = /^[A-Za-z0-9._:-]{0,255}$/;
const LOCALE = /^[A-Za-z0-9-]{0,35}$/;

/** Devices' push registrations: checked, stored per (user, device), shown without their tokens. */
export class Devices {
  constructor(
    private readonly store: DeviceTokenStore,
    private readonly now: () => number = Date.now,
  ) {}

  async register(user: string, device: string, r: PushRegistration): Promise<PushDevice> {
    const platform = r.platform as Platform;
    if (!PLATFORMS.includes(platform)) throw invalid('platform', `must be apns or fcm, got ${echo(r.platform)}`);
    if (r.token.length === 0 || r.token.length > MAX_TOKEN_LENGTH || !TOKEN.test(r.token)) {
      throw invalid('token', `must be 1-${MAX_TOKEN_LENGTH} printable ASCII characters`);
    }
    if (platform === 'apns' && !/^[0-9a-fA-F]{16,200}$/.test(r.token)) throw invalid('token', 'an APNs token is hex');
    if (!TOPIC.test(r.topic)) throw invalid('topic', `is not a bundle or app id: ${echo(r.topic)}`);
    if (platform === 'apns' && r.topic === '') throw invalid('topic', 'APNs needs the app’s bundle id');
    const environment = r.environment || 'production';
    if (environment !== 'production' && environment !== 'sandbox') {
      throw invalid('environment', `must be production or sandbox, got ${echo(r.environment)}`);
    }
    if (!LOCALE.test(r.locale)) throw invalid('locale', `is not a language tag: ${echo(r.locale)}`);
    const token: DeviceToken = {
      user,
      device,
      platform,
      token: platform === 'apns' ? r.token.toLowerCase() : r.token,
      topic: r.topic,
      environment,
      locale: r.locale,
      previews: r.previews,
      updatedAtMs: this.now(),
    };
    await this.store.put(token);
    return shown(token);
  }

  async unregister(user: string, device: string): Promise<PushDevice> {
    await this.store.remove(user, device);
    return { device, platform: '', registered: false, updatedAtMs: 0, environment: '', previews: false };
  }

  async list(user: string): Promise<PushDevice[]> {
    return ((await this.store.ofUsers([user])).get(user) ?? []).map(shown);
  }
}

function shown(t: DeviceToken): PushDevice {
  return {
    device: t.device,
    platform: t.platform,
    registered: true,
    updatedAtMs: t.updatedAtMs,
    environment: t.environment,
    previews: t.previews,
  };
}

function invalid(field: string, message: string): ImError {
  return new ImError('INVALID_ARGUMENT', `push registration: ${field} ${message}`, { field });
}
