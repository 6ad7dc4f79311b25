import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { connect } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { FakeApns } from '../../test/fakes/apns.ts';
import { testTls } from '../../test/fakes/test-ca.ts';
import { ApnsSender } from './apns-sender.ts';
import type { MobilePush } from './push-sender.ts';

const KEY_ID = 'KEY1234567';
const TEAM_ID = 'TEAM123456';
const TOPIC = 'com.example.im';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pem = (key: ReturnType<typeof p256>['privateKey']) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
/** A device token: 32 bytes in hex, each test's own. */
const deviceToken = () => randomUUID().replaceAll('-', '').repeat(2);

function push(overrides: Partial<MobilePush> = {}): MobilePush {
  return {
    id: randomUUID(),
    target: { platform: 'apns', token: deviceToken(), topic: TOPIC, environment: 'sandbox' },
    alert: { title: 'alice', body: 'hello bob' },
    badge: 7,
    collapseId: 'dm:alice:bob',
    priority: 'high',
    expireAtMs: Date.now() + 3_600_000,
    data: { conversation: 'dm:alice:bob', seq: '42' },
    ...overrides,
  };
}

describe('ApnsSender against a fake APNs', () => {
  const { privateKey, publicKey } = p256();
  let sandbox: FakeApns;
  let production: FakeApns;
  let sender: ApnsSender;
  let ca: string;
  const accepted = (fake: FakeApns, token: string) => fake.accepted.filter((p) => p.token === token);

  before(async () => {
    ca = (await testTls()).ca;
    sandbox = await FakeApns.start({ publicKey, keyId: KEY_ID, teamId: TEAM_ID });
    production = await FakeApns.start({ publicKey, keyId: KEY_ID, teamId: TEAM_ID });
    sender = new ApnsSender({
      key: pem(privateKey),
      keyId: KEY_ID,
      teamId: TEAM_ID,
      ca,
      endpoints: {
        sandbox: { address: '127.0.0.1', port: sandbox.port },
        production: { address: '127.0.0.1', port: production.port },
      },
    });
  });
  after(async () => {
    await sender.close();
    await Promise.all([sandbox.close(), production.close()]);
  });

  it('sends an alert with the headers and payload APNs wants', async () => {
    const alert = push({ sound: 'default' });
    assert.deepEqual(await sender.send([alert]), [{ kind: 'sent', providerId: alert.id }]);
    const [received] = accepted(sandbox, alert.target.token);
    assert.deepEqual(received?.headers, {
      'apns-id': alert.id,
      'apns-topic': TOPIC,
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-collapse-id': 'dm:alice:bob',
      'apns-expiration': String(Math.floor(alert.expireAtMs / 1000)),
    });
    assert.deepEqual(received.payload, {
      conversation: 'dm:alice:bob',
      seq: '42',
      aps: { alert: { title: 'alice', body: 'hello bob' }, badge: 7, sound: 'default' },
    });
    assert.equal(accepted(production, alert.target.token).length, 0);
  });

  it('sends a normal-priority alert with priority 5, and no apns-expiration when expireAtMs is 0', async () => {
    const alert = push({ priority: 'normal', expireAtMs: 0 });
    assert.equal((await sender.send([alert]))[0]?.kind, 'sent');
    const headers = accepted(sandbox, alert.target.token)[0]?.headers;
    assert.equal(headers?.['apns-priority'], '5');
    assert.equal(headers['apns-expiration'], undefined);
  });

  it('sends a silent update as a background push: content-available and the badge, priority 5', async () => {
    const silent = push({ alert: undefined, priority: 'high', badge: 3 });
    assert.equal((await sender.send([silent]))[0]?.kind, 'sent');
    const [received] = accepted(sandbox, silent.target.token);
    assert.equal(received?.headers['apns-push-type'], 'background');
    assert.equal(received.headers['apns-priority'], '5');
    assert.deepEqual(received.payload.aps, { badge: 3, 'content-available': 1 });
  });

  it('sends a production device’s push to the production endpoint', async () => {
    const target = {
      platform: 'apns' as const,
      token: deviceToken(),
      topic: TOPIC,
      environment: 'production' as const,
    };
    assert.equal((await sender.send([push({ target })]))[0]?.kind, 'sent');
    assert.equal(accepted(production, target.token).length, 1);
    assert.equal(accepted(sandbox, target.token).length, 0);
  });

  it('answers dead-token for 410 Unregistered, 400 BadDeviceToken and 400 DeviceTokenNotForTopic', async () => {
    const pushes = [push(), push(), push()];
    sandbox.answer(pushes[0]!.target.token, { status: 410, reason: 'Unregistered' });
    sandbox.answer(pushes[1]!.target.token, { status: 400, reason: 'BadDeviceToken' });
    sandbox.answer(pushes[2]!.target.token, { status: 400, reason: 'DeviceTokenNotForTopic' });
    const outcomes = await sender.send(pushes);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ['dead-token', 'dead-token', 'dead-token'],
    );
    assert.match((outcomes[0] as { reason: string }).reason, /^410 Unregistered since \d+$/);
    assert.deepEqual(
      outcomes.slice(1).map((o) => (o as { reason: string }).reason),
      ['400 BadDeviceToken', '400 DeviceTokenNotForTopic'],
    );
  });

  it('answers retry for 429, 500 and 503 after one request each (node-apn does not resend), then sends', async () => {
    const pushes = [push(), push(), push()];
    sandbox.answer(pushes[0]!.target.token, { status: 429, reason: 'TooManyRequests', retryAfterSec: 5 });
    sandbox.answer(pushes[1]!.target.token, { status: 500, reason: 'InternalServerError' });
    sandbox.answer(pushes[2]!.target.token, { status: 503, reason: 'ServiceUnavailable' });
    const outcomes = await sender.send(pushes);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ['retry', 'retry', 'retry'],
    );
    // node-apn reads no Retry-After (it looks for the header in the wrong case), so none is reported.
    assert.equal((outcomes[0] as { retryAfterMs?: number }).retryAfterMs, undefined);
    assert.deepEqual(
      pushes.map((p) => sandbox.requests.get(p.target.token)),
      [1, 1, 1],
    );
    assert.deepEqual(
      (await sender.send(pushes)).map((o) => o.kind),
      ['sent', 'sent', 'sent'],
    );
  });

  it('answers failed for a payload over 4 KB (413), and for a push already expired without sending it', async () => {
    const big = push({ alert: { title: 'alice', body: 'x'.repeat(4100) } });
    const expired = push({ expireAtMs: Date.now() - 1 });
    assert.deepEqual(await sender.send([big, expired]), [
      { kind: 'failed', reason: '413 PayloadTooLarge' },
      { kind: 'failed', reason: 'expired before it was sent' },
    ]);
    assert.equal(accepted(sandbox, big.target.token).length, 0);
    assert.equal(sandbox.requests.get(expired.target.token), undefined);
  });

  it('is refused (403 InvalidProviderToken, failed) when it signs with a key APNs does not know', async () => {
    const stranger = new ApnsSender({
      key: pem(p256().privateKey),
      keyId: KEY_ID,
      teamId: TEAM_ID,
      ca,
      endpoints: { sandbox: { address: '127.0.0.1', port: sandbox.port } },
    });
    try {
      assert.deepEqual(await stranger.send([push()]), [{ kind: 'failed', reason: '403 InvalidProviderToken' }]);
    } finally {
      await stranger.close();
    }
  });

  it('sends a batch of 100 mixed pushes over one connection, one outcome per push in order', async () => {
    const pushes = Array.from({ length: 100 }, (_, i) => push(i % 2 ? { alert: undefined } : {}));
    const expected = pushes.map((p, i) => {
      if (i % 10 === 3) sandbox.answer(p.target.token, { status: 410, reason: 'Unregistered' });
      if (i % 10 === 5) sandbox.answer(p.target.token, { status: 429, reason: 'TooManyRequests' });
      if (i % 10 === 7) sandbox.answer(p.target.token, { status: 400, reason: 'BadDeviceToken' });
      return ({ 3: 'dead-token', 5: 'retry', 7: 'dead-token' } as Record<number, string>)[i % 10] ?? 'sent';
    });
    const connections = sandbox.connections;
    const outcomes = await sender.send(pushes);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      expected,
    );
    assert.equal(sandbox.connections, connections);
    pushes.forEach((p, i) => {
      const received = accepted(sandbox, p.target.token);
      assert.equal(received.length, expected[i] === 'sent' ? 1 : 0);
      if (received[0]) assert.equal(received[0].headers['apns-push-type'], p.alert ? 'alert' : 'background');
    });
  });

  it('refuses to be built without credentials, or with a key that is not a P-256 PEM', () => {
    assert.throws(() => new ApnsSender({}), /APNs credentials incomplete: no key, keyId, teamId/);
    assert.throws(() => new ApnsSender({ key: pem(privateKey), keyId: KEY_ID }), /incomplete: no teamId$/);
    const withKey = (key: string) => () => new ApnsSender({ key, keyId: KEY_ID, teamId: TEAM_ID });
    assert.throws(withKey('/etc/im/AuthKey_KEY1234567.p8'), /APNs key is not a P-256 private key in PEM/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    assert.throws(withKey(rsa.export({ type: 'pkcs8', format: 'pem' }).toString()), /not a P-256 private key/);
  });

  it('has a fake that refuses a provider token older than an hour, and a push without apns-topic', async () => {
    const jwt = (iat: number) => {
      const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const unsigned = `${part({ alg: 'ES256', kid: KEY_ID })}.${part({ iss: TEAM_ID, iat })}`;
      const signature = sign('sha256', Buffer.from(unsigned), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return `${unsigned}.${signature.toString('base64url')}`;
    };
    const session = connect(`https://127.0.0.1:${sandbox.port}`, { ca });
    const post = (headers: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': `/3/device/${deviceToken()}`, ...headers });
        let body = '';
        stream.on('response', (h) => (body += `${h[':status']} `));
        stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
        stream.end(JSON.stringify({ aps: { badge: 1 } }));
      });
    try {
      const now = Math.floor(Date.now() / 1000);
      const base = { 'apns-topic': TOPIC, 'apns-push-type': 'alert' };
      assert.equal(await post({ ...base, authorization: `bearer ${jwt(now)}` }), '200 ');
      const stale = await post({ ...base, authorization: `bearer ${jwt(now - 3700)}` });
      assert.equal(stale, '403 {"reason":"ExpiredProviderToken"}');
      const noTopic = await post({ 'apns-push-type': 'alert', authorization: `bearer ${jwt(now)}` });
      assert.equal(noTopic, '400 {"reason":"MissingTopic"}');
    } finally {
      session.close();
    }
  });
});
