import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImError } from '../lib/errors.ts';
import type { E2eState } from './e2e/state.ts';
import { FileE2eStore } from './e2e/file-store.ts';
import type { E2eStore } from './sdk.ts';

/**
 * Where imctl keeps a device's end-to-end keys and sessions: one file per (user, device), shared by every command run
 * as that device, so it stays one device with one identity. A run with another file is a new device, which cannot
 * read what was sent before it existed.
 */

/** $IM_E2E_KEYS_DIR, else `e2e/` in imctl's home ($IM_HOME, default ~/.im, where the dev key is too). */
export function e2eKeysDir(): string {
  return process.env.IM_E2E_KEYS_DIR ?? join(process.env.IM_HOME ?? join(homedir(), '.im'), 'e2e');
}

/**
 * `<user>.<device>.json` in e2eKeysDir(). Anything but [A-Za-z0-9_@-] is written as %XX (its UTF-8 bytes), the dot
 * included: a name never holds a path separator, and two (user, device) pairs never share a file ("a.b"+"c" is
 * `a%2Eb.c.json`, "a"+"b.c" is `a.b%2Ec.json`).
 */
export function e2eKeysPath(user: string, device: string): string {
  return join(e2eKeysDir(), `${fileSafe(user)}.${fileSafe(device)}.json`);
}

function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9_@-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** Who the client is once the server has accepted its token (ImClient.auth). */
type SignedIn = () => { user: string; device: string } | undefined;

/**
 * The device's key file. Its default path follows the user and device the server confirmed at the handshake (a
 * --token's, which --user and --device only guess); `path` (--e2e-keys) names one instead. A file that holds another
 * device's keys is refused rather than replaced by new ones.
 */
export class DeviceKeyFile implements E2eStore {
  private file: FileE2eStore | undefined;

  constructor(
    private readonly signedIn: SignedIn,
    private readonly path?: string,
  ) {}

  async load(): Promise<E2eState | undefined> {
    const who = this.signedIn();
    if (!who) throw new ImError('INTERNAL', 'end-to-end keys asked for before the server said who this device is');
    const path = this.path ?? e2eKeysPath(who.user, who.device);
    this.file = new FileE2eStore(path);
    const state = await this.file.load();
    if (state && (state.user !== who.user || state.device !== who.device))
      throw new ImError(
        'INVALID_ARGUMENT',
        `${path} holds the end-to-end keys of ${state.user}/${state.device}, not of ${who.user}/${who.device}`,
      );
    return state;
  }

  save(state: E2eState): Promise<void> {
    if (!this.file) return Promise.reject(new ImError('INTERNAL', 'end-to-end keys saved before they were loaded'));
    return this.file.save(state);
  }
}
