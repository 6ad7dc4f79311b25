import { SyncKey } from '../proto/gen/im/v1/sync_key.pb.ts';
import { ImError } from '../lib/errors.ts';

export const SYNC_KEY_VERSION = 1;
const MAX_KEY_CHARS = 64 * 1024;

export type { SyncKey };

/** A key at the very start of a user's streams (what a new device holds). */
export function initialKey(user: string, epoch: number): SyncKey {
  return SyncKey.create({ version: SYNC_KEY_VERSION, epoch, user, inboxSeq: 0, systemSeq: 0, groups: {} });
}

export function encodeSyncKey(key: SyncKey): string {
  return Buffer.from(SyncKey.encode(key).finish()).toString('base64url');
}

/** Decodes a client's key; an empty key means "a new device". Garbled keys and other users' keys are refused. */
export function decodeSyncKey(encoded: string, user: string, epoch: number): SyncKey {
  if (encoded === '') return initialKey(user, epoch);
  if (encoded.length > MAX_KEY_CHARS || !/^[A-Za-z0-9_-]+$/.test(encoded)) {
    throw new ImError('BAD_SYNC_KEY', 'sync_key is not a key this server issued');
  }
  let key: SyncKey;
  try {
    key = SyncKey.decode(Buffer.from(encoded, 'base64url'));
  } catch (cause) {
    throw new ImError('BAD_SYNC_KEY', 'sync_key is not a key this server issued', { cause });
  }
  if (key.version !== SYNC_KEY_VERSION)
    throw new ImError('BAD_SYNC_KEY', `sync_key version ${key.version} is not supported`);
  if (key.user !== user) throw new ImError('BAD_SYNC_KEY', 'sync_key belongs to another user');
  return key;
}
