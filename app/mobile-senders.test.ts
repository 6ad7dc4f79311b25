import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../lib/config.ts';
import { mobileSenders } from './mobile-senders.ts';

/** A logger that keeps its lines (level and message) for the test to read. */
function recordingLogger() {
  const lines: { level: number; msg: string; reason?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as never) });
  return { log, lines };
}

describe('mobileSenders', () => {
  it('leaves a provider without credentials off, saying so once, and makes none', () => {
    const { log, lines } = recordingLogger();
    const senders = mobileSenders(loadConfig({}), log);
    assert.deepEqual(Object.keys(senders), []);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['APNs off: no IM_APNS_KEY_FILE, IM_APNS_KEY_ID, IM_APNS_TEAM_ID', 'FCM off: no IM_FCM_SERVICE_ACCOUNT_FILE'],
    );
  });

  it('leaves a provider whose configuration is not usable off with an error line, never a crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'im-senders-'));
    writeFileSync(join(dir, 'not-a-key.p8'), 'hello');
    writeFileSync(join(dir, 'account.json'), '{"project_id": "p"}');
    const { log, lines } = recordingLogger();
    const senders = mobileSenders(
      loadConfig({
        apnsKeyFile: join(dir, 'not-a-key.p8'),
        apnsKeyId: 'K',
        apnsTeamId: 'T',
        fcmServiceAccountFile: join(dir, 'account.json'),
      }),
      log,
    );
    assert.deepEqual(Object.keys(senders), []);
    assert.deepEqual(
      lines.map((l) => [l.msg, l.level]),
      [
        ['APNs off: its configuration is not usable', 50],
        ['FCM off: its configuration is not usable', 50],
      ],
    );
  });

  it('makes the providers whose credentials are given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'im-senders-'));
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'key.p8'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privateKey = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(
      join(dir, 'account.json'),
      JSON.stringify({ project_id: 'p', client_email: 'e@p', private_key: privateKey }),
    );
    const { log } = recordingLogger();
    const senders = mobileSenders(
      loadConfig({
        apnsKeyFile: join(dir, 'key.p8'),
        apnsKeyId: 'K',
        apnsTeamId: 'T',
        fcmServiceAccountFile: join(dir, 'account.json'),
      }),
      log,
    );
    assert.deepEqual(Object.keys(senders).sort(), ['apns', 'fcm']);
    await Promise.all(Object.values(senders).map((s) => s.close()));
  });
});
