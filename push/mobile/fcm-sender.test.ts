import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { Agent } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { FakeFcm } from '../../test/fakes/fcm.ts';
import { FcmSender } from './fcm-sender.ts';
import type { MobilePush } from './push-sender.ts';

const PROJECT = 'im-test';
const EMAIL = 'push@im-test.iam.gserviceaccount.com';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

function push(overrides: Partial<MobilePush> = {}): MobilePush {
  return {
    id: randomUUID(),
    target: { platform: 'fcm', token: `fcm-${randomUUID()}`, topic: '', environment: 'production' },
    alert: { title: 'alice', body: 'hello bob' },
    badge: 7,
    collapseId: 'dm:alice:bob',
    priority: 'high',
    // Half a second over the hour, so the ttl is 3600 s whenever the sender reads the clock within it.
    expireAtMs: Date.now() + 3_600_500,
    data: { conversation: 'dm:alice:bob', seq: '42' },
    ...overrides,
  };
}

describe('FcmSender against a fake FCM and OAuth endpoint', () => {
  const { privateKey, publicKey } = rsa();
  let fake: FakeFcm;
  let agent: Agent;
  let sender: FcmSender;
  const accepted = (token: string) => fake.accepted.filter((m) => m.token === token);
  const kinds = async (pushes: MobilePush[]) => (await sender.send(pushes)).map((o) => o.kind);

  before(async () => {
    fake = await FakeFcm.start({ projectId: PROJECT, clientEmail: EMAIL, publicKey });
    agent = fake.agent();
    sender = new FcmSender({ projectId: PROJECT, clientEmail: EMAIL, privateKey: pem(privateKey), httpAgent: agent });
  });
  after(async () => {
    await sender.close();
    agent.destroy();
    await fake.close();
  });

  it('sends an alert as an FCM v1 Android message: priority, ttl, collapse key, tag, count, data', async () => {
    const alert = push({ sound: 'default' });
    const [outcome] = await sender.send([alert]);
    assert.equal(outcome?.kind, 'sent');
    assert.match((outcome as { providerId: string }).providerId, /^projects\/im-test\/messages\/.+/);
    const [received] = accepted(alert.target.token);
    assert.deepEqual(received?.message, {
      token: alert.target.token,
      data: { conversation: 'dm:alice:bob', seq: '42', push_id: alert.id, badge: '7' },
      android: {
        priority: 'high',
        ttl: '3600s',
        collapse_key: 'dm:alice:bob',
        notification: {
          title: 'alice',
          body: 'hello bob',
          tag: 'dm:alice:bob',
          notification_count: 7,
          sound: 'default',
        },
      },
    });
    // The legacy transport, the one that goes through the agent.
    assert.equal(received.httpVersion, '1.1');
  });

  it('sends a silent update as a data message of normal priority, without a ttl when expireAtMs is 0', async () => {
    const silent = push({ alert: undefined, priority: 'normal', badge: 3, expireAtMs: 0 });
    assert.deepEqual(await kinds([silent]), ['sent']);
    assert.deepEqual(accepted(silent.target.token)[0]?.message, {
      token: silent.target.token,
      data: { conversation: 'dm:alice:bob', seq: '42', push_id: silent.id, badge: '3' },
      android: { priority: 'normal', collapse_key: 'dm:alice:bob' },
    });
  });

  it('answers dead-token for UNREGISTERED and for INVALID_ARGUMENT about the token', async () => {
    const pushes = [push(), push()];
    fake.answer(pushes[0]!.target.token, { error: 'UNREGISTERED' });
    fake.answer(pushes[1]!.target.token, { error: 'INVALID_ARGUMENT' });
    const outcomes = await sender.send(pushes);
    assert.deepEqual(outcomes, [
      { kind: 'dead-token', reason: 'messaging/registration-token-not-registered: Requested entity was not found.' },
      {
        kind: 'dead-token',
        reason: 'messaging/invalid-argument: The registration token is not a valid FCM registration token',
      },
    ]);
  });

  it('answers retry for 429 QUOTA_EXCEEDED with its Retry-After, and for 500 INTERNAL', async () => {
    const pushes = [push(), push()];
    fake.answer(pushes[0]!.target.token, { error: 'QUOTA_EXCEEDED', retryAfterSec: 30 });
    fake.answer(pushes[1]!.target.token, { error: 'INTERNAL' });
    assert.deepEqual(await sender.send(pushes), [
      {
        kind: 'retry',
        reason: 'messaging/message-rate-exceeded: Quota exceeded for the device.',
        retryAfterMs: 30_000,
      },
      { kind: 'retry', reason: 'messaging/internal-error: Internal error encountered.' },
    ]);
    assert.deepEqual(await kinds(pushes), ['sent', 'sent']);
  });

  it('leaves a 503 to firebase-admin, which sends it again itself (at once the first time)', async () => {
    const once = push();
    fake.answer(once.target.token, { error: 'UNAVAILABLE' });
    assert.deepEqual(await kinds([once]), ['sent']);
    assert.equal(fake.requests.get(once.target.token), 2);
  });

  it('answers failed for a message over 4 KB, and for a push already expired without sending it', async () => {
    const big = push({ data: { text: 'x'.repeat(4100) } });
    const expired = push({ expireAtMs: Date.now() - 1 });
    assert.deepEqual(await sender.send([big, expired]), [
      { kind: 'failed', reason: 'messaging/invalid-argument: Android message is too big' },
      { kind: 'failed', reason: 'expired before it was sent' },
    ]);
    assert.equal(fake.requests.get(expired.target.token), undefined);
  });

  it('sends a batch of 100 mixed pushes, one outcome per push in order', async () => {
    const pushes = Array.from({ length: 100 }, (_, i) => push(i % 2 ? { alert: undefined } : {}));
    const expected = pushes.map((p, i) => {
      if (i % 10 === 3) fake.answer(p.target.token, { error: 'UNREGISTERED' });
      if (i % 10 === 5) fake.answer(p.target.token, { error: 'QUOTA_EXCEEDED' });
      if (i % 10 === 7) fake.answer(p.target.token, { error: 'INVALID_ARGUMENT' });
      return ({ 3: 'dead-token', 5: 'retry', 7: 'dead-token' } as Record<number, string>)[i % 10] ?? 'sent';
    });
    assert.deepEqual(await kinds(pushes), expected);
    pushes.forEach((p, i) => {
      const received = accepted(p.target.token);
      assert.equal(received.length, expected[i] === 'sent' ? 1 : 0);
      if (received[0]) assert.equal('notification' in (received[0].message.android as object), Boolean(p.alert));
    });
  });

  it('splits a batch over FCM’s 500 per sendEach', async () => {
    const pushes = Array.from({ length: 501 }, () => push({ alert: undefined }));
    const outcomes = await kinds(pushes);
    assert.equal(outcomes.length, 501);
    assert.ok(outcomes.every((kind) => kind === 'sent'));
  });

  it('fetched one access token for all of the above', () => {
    assert.equal(fake.grants, 1);
  });

  it('answers retry, sending nothing, when the token endpoint refuses its signed grant', async () => {
    const stranger = new FcmSender({
      projectId: PROJECT,
      clientEmail: EMAIL,
      privateKey: pem(rsa().privateKey),
      httpAgent: agent,
    });
    try {
      const lost = push();
      const [outcome] = await stranger.send([lost]);
      assert.equal(outcome?.kind, 'retry');
      assert.match((outcome as { reason: string }).reason, /^app\/invalid-credential: .*answered 400: .*invalid_grant/);
      assert.equal(fake.requests.get(lost.target.token), undefined);
    } finally {
      await stranger.close();
    }
  });

  it('refuses to be built without credentials, or with a private key that is not RSA in PEM', () => {
    assert.throws(() => new FcmSender({}), /FCM credentials incomplete: no projectId, clientEmail, privateKey/);
    assert.throws(() => new FcmSender({ projectId: PROJECT, clientEmail: EMAIL }), /incomplete: no privateKey$/);
    const withKey = (key: string) => () => new FcmSender({ projectId: PROJECT, clientEmail: EMAIL, privateKey: key });
    assert.throws(withKey('not a key'), /FCM private key is not an RSA private key in PEM/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    assert.throws(withKey(pem(ec)), /not an RSA private key/);
  });
});
