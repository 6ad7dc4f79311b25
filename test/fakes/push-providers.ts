// Both fake push providers on 127.0.0.1 with fresh credentials, and the settings that point a server at them: one
// set-up for the mobile push suite and the canary test.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeApns, type FakeApnsOptions } from './apns.ts';
import { FakeFcm } from './fcm.ts';
import { testTls } from './test-ca.ts';

/** What the servers under test are told (IM_* variables in cluster mode, see `providerEnv`; config keys in embedded mode). */
export interface MobileSettings {
  apnsKeyFile: string;
  apnsKeyId: string;
  apnsTeamId: string;
  apnsAddress: string;
  apnsCaFile: string;
  fcmServiceAccountFile: string;
  fcmAddress: string;
  fcmCaFile: string;
  pushCoalesceWindowMs: number;
  smallGroupMaxMembers: number;
}

export interface PushProviders {
  apns: FakeApns;
  fcm: FakeFcm;
  /** The provider part of MobileSettings; the caller adds the coalescing window and the small group size. */
  settings: Omit<MobileSettings, 'pushCoalesceWindowMs' | 'smallGroupMaxMembers'>;
  /** Stops both and removes their credentials (after the server under test is closed). */
  close(): Promise<void>;
}

const KEY_ID = 'KEY1234567';
const TEAM_ID = 'TEAM123456';

/** Starts a fake APNs and a fake FCM, each with a key of its own written where the server's settings say. */
export async function startPushProviders(
  options: Pick<FakeApnsOptions, 'isKnown'> & { onBody?: (body: Buffer, provider: 'apns' | 'fcm') => void } = {},
): Promise<PushProviders> {
  const dir = mkdtempSync(join(tmpdir(), 'im-apns-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'key.p8'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'ca.pem'), (await testTls()).ca);
  const { onBody } = options;
  const apns = await FakeApns.start({
    publicKey,
    keyId: KEY_ID,
    teamId: TEAM_ID,
    ...(options.isKnown && { isKnown: options.isKnown }),
    ...(onBody && { onBody: (body: Buffer) => onBody(body, 'apns') }),
  });
  const google = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const account = { project_id: 'im-test', client_email: 'push@im-test.iam.gserviceaccount.com' };
  const privateKeyPem = google.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(join(dir, 'fcm.json'), JSON.stringify({ ...account, private_key: privateKeyPem }));
  const fcm = await FakeFcm.start({
    projectId: account.project_id,
    clientEmail: account.client_email,
    publicKey: google.publicKey,
    ...(onBody && { onBody: (body: Buffer) => onBody(body, 'fcm') }),
  });
  return {
    apns,
    fcm,
    settings: {
      apnsKeyFile: join(dir, 'key.p8'),
      apnsKeyId: KEY_ID,
      apnsTeamId: TEAM_ID,
      apnsAddress: `127.0.0.1:${apns.port}`,
      apnsCaFile: join(dir, 'ca.pem'),
      fcmServiceAccountFile: join(dir, 'fcm.json'),
      fcmAddress: `127.0.0.1:${fcm.port}`,
      fcmCaFile: join(dir, 'ca.pem'),
    },
    close: async () => {
      await apns.close();
      await fcm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Settings as cluster mode's IM_* variables (apnsKeyFile is IM_APNS_KEY_FILE). */
export function settingsEnv(settings: Partial<MobileSettings>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(settings).map(([k, v]) => [`IM_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, String(v)]),
  );
}
