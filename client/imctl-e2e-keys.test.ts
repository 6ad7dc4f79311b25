import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DeviceKeyFile, e2eKeysDir, e2eKeysPath } from './imctl-e2e-keys.ts';
import type { E2eState } from './e2e/state.ts';

const dir = mkdtempSync(join(tmpdir(), 'imctl-e2e-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` with IM_E2E_KEYS_DIR and IM_HOME set as given (undefined: unset), then puts them back. */
function withEnv<T>(env: { IM_E2E_KEYS_DIR?: string; IM_HOME?: string }, body: () => T): T {
  const saved = { IM_E2E_KEYS_DIR: process.env.IM_E2E_KEYS_DIR, IM_HOME: process.env.IM_HOME };
  const set = (name: keyof typeof saved, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  set('IM_E2E_KEYS_DIR', env.IM_E2E_KEYS_DIR);
  set('IM_HOME', env.IM_HOME);
  try {
    return body();
  } finally {
    set('IM_E2E_KEYS_DIR', saved.IM_E2E_KEYS_DIR);
    set('IM_HOME', saved.IM_HOME);
  }
}

/** A state with the byte arrays a real one holds: Buffers (from the SDK) and plain Uint8Arrays (from libsodium). */
const stateOf = (user: string, device: string) =>
  ({
    version: 1,
    user,
    device,
    identities: { 'x/y': Buffer.from([1, 2, 3]) },
    sent: [{ id: 'm1', contentType: 'text/plain', body: new Uint8Array([104, 105]) }],
  }) as unknown as E2eState;

describe('imctl keeps a device’s end-to-end keys in one file per user and device', () => {
  it('puts it in IM_E2E_KEYS_DIR, else e2e/ in IM_HOME', () => {
    withEnv({ IM_E2E_KEYS_DIR: '/keys', IM_HOME: '/home/im' }, () => assert.equal(e2eKeysDir(), '/keys'));
    withEnv({ IM_HOME: '/home/im' }, () => {
      assert.equal(e2eKeysDir(), '/home/im/e2e');
      assert.equal(e2eKeysPath('alice', 'phone'), '/home/im/e2e/alice.phone.json');
    });
  });

  it('never lets a name leave the directory, and never gives two devices one file', () => {
    withEnv({ IM_E2E_KEYS_DIR: '/keys' }, () => {
      for (const [user, device] of [
        ['../etc', 'passwd'],
        ['a/b', 'c\\d'],
        ['..', '..'],
        ['ü', '%2E'],
      ] as const) {
        const path = e2eKeysPath(user, device);
        assert.equal(dirname(path), '/keys', path);
        assert.doesNotMatch(basename(path), /[/\\]/);
      }
      assert.notEqual(e2eKeysPath('a.b', 'c'), e2eKeysPath('a', 'b.c'));
      assert.notEqual(e2eKeysPath('a%2Eb', 'c'), e2eKeysPath('a.b', 'c'));
    });
  });

  it('reads back what it saved, byte arrays included', async () => {
    const who = { user: 'alice', device: 'phone' };
    const path = join(dir, 'round-trip.json');
    const file = new DeviceKeyFile(() => who, path);
    assert.equal(await file.load(), undefined, 'no file yet: a new device');
    await file.save(stateOf('alice', 'phone'));
    const read = (await new DeviceKeyFile(() => who, path).load()) as unknown as ReturnType<typeof stateOf> & {
      identities: Record<string, Uint8Array>;
      sent: { body: Uint8Array }[];
    };
    assert.deepEqual([...read.identities['x/y']!], [1, 2, 3]);
    assert.deepEqual([...read.sent[0]!.body], [104, 105]);
  });

  it('refuses a file that holds another device’s keys instead of replacing them', async () => {
    const path = join(dir, 'someone-else.json');
    const bob = new DeviceKeyFile(() => ({ user: 'bob', device: 'cli' }), path);
    await bob.load();
    await bob.save(stateOf('bob', 'cli'));
    const alice = new DeviceKeyFile(() => ({ user: 'alice', device: 'cli' }), path);
    await assert.rejects(alice.load(), { code: 'INVALID_ARGUMENT', message: /holds the end-to-end keys of bob\/cli/ });
  });
});
