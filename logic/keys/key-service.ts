import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { DeviceBundle, KeyBundles, KeyStatus } from '../../proto/gen/im/v1/e2e.pb.ts';
import type { QueryKeysRequest, UploadKeysRequest } from '../../proto/gen/im/v1/services.pb.ts';
import { assertId } from '../../lib/conversation.ts';
import { bufferView } from '../../lib/buffer-view.ts';
import { ImError } from '../../lib/errors.ts';
import type { KeyCounts, KeyDirectory, PublishedDevice } from './key-directory.ts';
import { checkUpload, type CheckedUpload } from './key-upload.ts';
import { keyQueries, keysClaimed, keyUploads } from './metrics.ts';

/** One-time keys a device may have stored at once: past that an upload is refused. */
export const MAX_ONE_TIME_KEYS_STORED = 500;
/** Users one query may name. */
export const MAX_USERS_PER_QUERY = 32;

type Who = { user: string; device: string };

export interface KeyServiceOptions {
  /**
   * Keys one user may claim per minute (one per device that is not known to the asker): past it, RATE_LIMITED. A
   * query that only names known devices claims nothing and is not counted. Without a bound, one user could drain
   * everyone's one-time keys and leave them on their fallback keys.
   */
  claimsPerUserPerMinute?: number;
}

/**
 * The key directory's service (issue 24): devices publish their public keys, and others fetch them to start
 * sessions. `user` and `device` are always the ones the gateway authenticated. Keys are never logged.
 */
export class KeyService {
  private readonly claims: RateLimiterMemory;
  private readonly claimsPerMinute: number;

  constructor(
    private readonly directory: KeyDirectory,
    options: KeyServiceOptions = {},
  ) {
    this.claimsPerMinute = options.claimsPerUserPerMinute ?? 600;
    this.claims = new RateLimiterMemory({ points: this.claimsPerMinute, duration: 60 });
  }

  async upload({ user, device, upload }: UploadKeysRequest): Promise<KeyStatus> {
    try {
      const checked = await checkUpload(upload ?? { identityKey: Buffer.alloc(0), oneTimeKeys: [] });
      const stored = await this.directory.identityOf(user, device);
      const counts =
        stored && sameBytes(stored, checked.identityKey)
          ? await this.update({ user, device }, checked)
          : await this.replace({ user, device }, checked);
      return { oneTimeKeys: counts.oneTimeKeys, fallbackClaims: counts.fallbackClaims };
    } catch (err) {
      keyUploads.inc({ outcome: 'refused' });
      throw err;
    }
  }

  async query({ user, device, query }: QueryKeysRequest): Promise<KeyBundles> {
    const users = usersOf(query?.users ?? []);
    const known = new Map((query?.known ?? []).map((k) => [deviceKey(k.user, k.device), k.identityKey] as const));
    const asker = { user, device };
    const devices = (await Promise.all(users.map(async (u) => this.devicesOf(u, asker)))).flat();
    const toClaim = devices.filter(({ user: u, device: d }) => !isKnown(known, u, d.device, d.identityKey)).length;
    await this.admitClaims(user, toClaim);
    const bundles = await Promise.all(
      devices.map(({ user: u, device: d }) => this.bundleOf(u, d, known.get(deviceKey(u, d.device)))),
    );
    keyQueries.inc();
    return { devices: bundles.filter((b) => b !== undefined) };
  }

  private async admitClaims(user: string, count: number): Promise<void> {
    if (count === 0) return;
    try {
      await this.claims.consume(user, count);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      throw new ImError('RATE_LIMITED', `key query: at most ${this.claimsPerMinute} keys claimed per user and minute`, {
        retryAfterMs: Math.max(1, res.msBeforeNext),
      });
    }
  }

  /** A new device, or one reset with a new identity key: everything it had is replaced. */
  private async replace({ user, device }: Who, upload: CheckedUpload): Promise<KeyCounts> {
    const { identityKey, signedPrekey, fallbackKey, oneTimeKeys } = upload;
    if (!signedPrekey || !fallbackKey) {
      throw new ImError(
        'INVALID_ARGUMENT',
        'key upload: a device’s first upload, or one with a new identity key, must carry signed_prekey and fallback_key',
      );
    }
    const counts = await this.directory.replace(user, device, { identityKey, signedPrekey, fallbackKey }, oneTimeKeys);
    keyUploads.inc({ outcome: 'replaced' });
    return counts;
  }

  private async update({ user, device }: Who, upload: CheckedUpload): Promise<KeyCounts> {
    const counts = await this.directory.update(user, device, upload, MAX_ONE_TIME_KEYS_STORED);
    if (counts === 'full') {
      throw new ImError(
        'INVALID_ARGUMENT',
        `key upload: a device stores at most ${MAX_ONE_TIME_KEYS_STORED} one-time keys; this upload would pass that`,
      );
    }
    keyUploads.inc({ outcome: 'updated' });
    return counts;
  }

  /** `user`'s devices, the asker's own left out, in device order. */
  private async devicesOf(user: string, asker: Who): Promise<{ user: string; device: PublishedDevice }[]> {
    const devices = await this.directory.devicesOf(user);
    return devices.filter((d) => user !== asker.user || d.device !== asker.device).map((device) => ({ user, device }));
  }

  /** Only the identity of a device the asker knows with this key; otherwise a bundle that claims a key. */
  private async bundleOf(user: string, d: PublishedDevice, knownKey?: Uint8Array): Promise<DeviceBundle | undefined> {
    const base = { user, device: d.device, identityKey: bufferView(d.identityKey) };
    if (knownKey && sameBytes(knownKey, d.identityKey)) return base;
    const claim = await this.directory.claim(user, d.device);
    if (!claim) return undefined;
    const signedPrekey = signedWire(d.signedPrekey);
    if ('oneTimeKey' in claim) {
      keysClaimed.inc({ kind: 'one_time' });
      return {
        ...base,
        signedPrekey,
        oneTimeKey: { id: claim.oneTimeKey.id, publicKey: bufferView(claim.oneTimeKey.publicKey) },
      };
    }
    keysClaimed.inc({ kind: 'fallback' });
    return { ...base, signedPrekey, fallbackKey: signedWire(claim.fallbackKey) };
  }
}

/** The named users, each checked, once each, sorted. */
function usersOf(users: readonly string[]): string[] {
  const unique = [...new Set(users)];
  if (unique.length > MAX_USERS_PER_QUERY) {
    throw new ImError('INVALID_ARGUMENT', `key query: at most ${MAX_USERS_PER_QUERY} users, got ${unique.length}`);
  }
  return unique.map((u) => assertId('user', u)).sort();
}

function isKnown(known: Map<string, Uint8Array>, user: string, device: string, identityKey: Uint8Array): boolean {
  const key = known.get(deviceKey(user, device));
  return key !== undefined && sameBytes(key, identityKey);
}

function deviceKey(user: string, device: string): string {
  return `${user}\u0000${device}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function signedWire(k: { id: number; publicKey: Uint8Array; signature: Uint8Array }) {
  return { id: k.id, publicKey: bufferView(k.publicKey), signature: bufferView(k.signature) };
}
