import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NoticeApiClient, OperatorClient } from '../../client/notice-api.ts';
import { ImClient } from '../../client/sdk.ts';
import type { FakeApns } from '../fakes/apns.ts';
import type { FakeFcm } from '../fakes/fcm.ts';
import { startPushProviders, type MobileSettings, type PushProviders } from '../fakes/push-providers.ts';
import { eventually, sleep, type Target } from './harness.ts';

const TOPIC = 'com.example.chat';
// Long enough for a burst of 20 sends to land in one window in cluster mode too.
const WINDOW_MS = 1500;

/** A server under test, and its /metrics text (summed over processes in cluster mode). */
export type MobileTarget = Target & {
  metrics(): Promise<string>;
  /** The operator API (dead letters, devices) and its credential. */
  adminUrl: string;
  operatorToken: string;
  /** Cluster mode: restarts the push process so that it kill -9s itself after handling `n` push jobs, and starts it again once it did. */
  crashPushAfter?: (n: number) => Promise<{ died: Promise<void>; restart: () => Promise<void> }>;
};

/**
 * Mobile pushes from the embedded server through the real APNs client library to a fake APNs on 127.0.0.1: who gets
 * one (offline and behind), who does not (connected, caught up), coalescing, the badge, dead tokens, retries and
 * dead letters.
 */
export function mobilePushSuite(
  label: string,
  setup: (settings: MobileSettings) => Promise<MobileTarget>,
  /** Whether the target has a push process of its own to kill (cluster mode). */
  options: { crashPush?: boolean } = {},
): void {
  describe(`mobile push through APNs (${label}, fake APNs)`, () => {
    let apns: FakeApns;
    let fcm: FakeFcm;
    let server: MobileTarget;
    const run = Date.now().toString(16);
    let n = 0;
    const token = () => `${run}${(++n).toString(16)}`.padStart(64, 'a');
    const u = (name: string) => `${name}-${run}`;

    let providers: PushProviders;

    before(async () => {
      // Cluster mode keeps earlier runs' registrations: only this run's tokens exist (the others get 410 and go).
      providers = await startPushProviders({ isKnown: (t) => t.includes(run) });
      ({ apns, fcm } = providers);
      server = await setup({ ...providers.settings, pushCoalesceWindowMs: WINDOW_MS, smallGroupMaxMembers: 2 });
    });
    after(async () => {
      await server.close();
      await providers.close();
    });

    const client = (user: string, device: string) =>
      new ImClient({ url: server.urlFor(user, device), token: () => server.token(user, device), reconnect: false });
    /** A phone that registers its token and goes away (the app in a pocket). */
    const pocketPhone = async (user: string) => {
      const phone = client(user, 'phone');
      await phone.connect();
      const t = token();
      await phone.registerPush({ platform: 'apns', token: t, topic: TOPIC, previews: true });
      await phone.close();
      return t;
    };
    const pushesTo = (t: string) => apns.accepted.filter((p) => p.token === t);
    const send = async (from: string, to: string, texts: string[]) => {
      const c = client(from, 'laptop');
      await c.connect();
      for (const text of texts) await c.send({ user: to }, { text });
      await c.close();
    };

    it('an offline device gets one alert with the text, the conversation as collapse id and the badge', async () => {
      const t = await pocketPhone(u('bob1'));
      await send(u('alice1'), u('bob1'), ['hello bob']);
      // The first job waits for the push process to join its consumer group (a group a killed process of an earlier
      // run was in rebalances after that member's session times out).
      await eventually(() => pushesTo(t).length === 1, 'the push', 30_000);
      const [push] = pushesTo(t);
      assert.deepEqual(push!.payload.aps.alert, { title: u('alice1'), body: 'hello bob' });
      assert.equal(push!.payload.aps.badge, 1);
      assert.equal(push!.headers['apns-topic'], TOPIC);
      assert.equal(push!.headers['apns-push-type'], 'alert');
      assert.equal(push!.headers['apns-priority'], '10');
      assert.ok(push!.headers['apns-collapse-id']);
    });

    it('an offline Android device gets its alert through FCM, collapsed per conversation, with the badge', async () => {
      const phone = client(u('droid'), 'pixel');
      await phone.connect();
      const t = `fcm-${run}-token`;
      await phone.registerPush({ platform: 'fcm', token: t, previews: false });
      await phone.close();
      await send(u('alice8'), u('droid'), ['secret text']);
      await eventually(() => fcm.accepted.some((m) => m.token === t), 'the FCM message', 30_000);
      const { message } = fcm.accepted.find((m) => m.token === t)!;
      const android = message.android as { priority: string; collapse_key: string; notification: { body: string } };
      assert.equal(android.priority, 'high');
      assert.ok(android.collapse_key);
      assert.equal(android.notification.body, 'New message', 'no preview where the device allows none');
      assert.equal((message.data as Record<string, string>).badge, '1');
    });

    it('a muted conversation gets no alert, only the badge; other conversations still alert', async () => {
      const phone = client(u('mute-bob'), 'phone');
      await phone.connect();
      const t = token();
      await phone.registerPush({ platform: 'apns', token: t, topic: TOPIC, previews: true });
      await phone.mute(`dm:${[u('mute-alice'), u('mute-bob')].sort().join(':')}`);
      await phone.close();
      await send(u('mute-alice'), u('mute-bob'), ['muted']);
      await eventually(() => pushesTo(t).length === 1, 'the update');
      assert.equal(pushesTo(t)[0]!.payload.aps.alert, undefined, 'no alert for a muted conversation');
      assert.equal(pushesTo(t)[0]!.payload.aps.badge, 1);
      await send(u('mute-carol'), u('mute-bob'), ['not muted']);
      await eventually(() => pushesTo(t).length === 2, 'the alert of another conversation');
      assert.deepEqual(pushesTo(t)[1]!.payload.aps.alert, { title: u('mute-carol'), body: 'not muted' });
    });

    it('a device registers over HTTP with its own token (PUT, DELETE at logout); bad requests are refused', async () => {
      const user = u('http-bob');
      const url = `${server.urlFor(user, 'phone').replace(/^ws/, 'http')}/v1/push/device`;
      const call = (method: string, body?: unknown, auth = `Bearer ${server.token(user, 'phone')}`) =>
        fetch(url, { method, headers: { authorization: auth }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const t = token();
      const registered = await call('PUT', { platform: 'apns', token: t, topic: TOPIC, previews: true });
      assert.equal(registered.status, 200);
      const shown = (await registered.json()) as Record<string, unknown>;
      assert.deepEqual(
        { ...shown, updated_at_ms: typeof shown.updated_at_ms },
        {
          device: 'phone',
          platform: 'apns',
          registered: true,
          environment: 'production',
          previews: true,
          updated_at_ms: 'number',
        },
      );
      await send(u('http-alice'), user, ['over http']);
      await eventually(() => pushesTo(t).length === 1, 'the push');
      assert.equal((await call('PUT', { platform: 'apns', token: t })).status, 400, 'APNs needs a topic');
      const bad = await call('PUT', { platform: 'pager', token: t, topic: TOPIC });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { field: string }).field, 'platform');
      assert.equal((await call('PUT', { platform: 'apns', token: t, topic: TOPIC }, 'Bearer nope')).status, 401);
      assert.equal((await call('POST', {})).status, 405);
      assert.equal((await call('DELETE')).status, 200);
      await sleep(WINDOW_MS * 2);
      await send(u('http-alice'), user, ['after logout']);
      await sleep(WINDOW_MS);
      assert.equal(pushesTo(t).length, 1, 'nothing after logout');
    });

    it('a connected device gets none', async () => {
      const t = await pocketPhone(u('bob2'));
      const phone = client(u('bob2'), 'phone');
      await phone.connect();
      await send(u('alice2'), u('bob2'), ['you are online']);
      await sleep(WINDOW_MS * 2);
      assert.equal(apns.requests.get(t) ?? 0, 0);
      await phone.close();
    });

    it('a burst gives one alert per window, then one silent update with the badge of every unread message', async () => {
      const t = await pocketPhone(u('bob3'));
      const started = Date.now();
      await send(
        u('alice3'),
        u('bob3'),
        Array.from({ length: 20 }, (_, i) => `burst ${i}`),
      );
      const took = Date.now() - started;
      const last = () => pushesTo(t).at(-1);
      await eventually(() => last()?.payload.aps.badge === 20 && !last()?.payload.aps.alert, 'the last update', 10_000);
      await sleep(WINDOW_MS * 2);
      const pushes = pushesTo(t);
      const alerts = pushes.filter((p) => p.payload.aps.alert);
      // The sends took `took` ms (about 0.2 s embedded, longer on a loaded cluster): one alert per window they span.
      assert.ok(
        alerts.length >= 1 && alerts.length <= 1 + Math.floor(took / WINDOW_MS),
        `${alerts.length} alerts in ${took} ms`,
      );
      assert.ok(pushes.length <= 2 * alerts.length, 'at most one update after each alert');
      const update = last()!;
      assert.equal(update.headers['apns-push-type'], 'background');
      assert.equal(update.payload.aps.badge, 20, 'the badge is the unread count');
      assert.ok(pushes.every((p) => p.headers['apns-collapse-id'] === alerts[0]!.headers['apns-collapse-id']));
    });

    it('a device that comes back and catches up within the window gets no update', async () => {
      const t = await pocketPhone(u('bob4'));
      await send(u('alice4'), u('bob4'), ['one', 'two', 'three']);
      await eventually(() => pushesTo(t).length === 1, 'the alert');
      const phone = client(u('bob4'), 'phone');
      await phone.connect();
      await eventually(() => phone.state.inboxSeq >= 3, 'the phone caught up');
      await sleep(300);
      await phone.close();
      await sleep(WINDOW_MS * 2);
      assert.equal(pushesTo(t).length, 1, 'only the first alert');
    });

    it('a token APNs calls unregistered (410) is removed: no more pushes to it', async () => {
      const t = await pocketPhone(u('bob5'));
      apns.answer(t, { status: 410, reason: 'Unregistered' });
      await send(u('alice5'), u('bob5'), ['first']);
      await eventually(() => apns.requests.get(t) === 1, 'the refused push');
      await sleep(WINDOW_MS * 2);
      await send(u('alice5'), u('bob5'), ['second']);
      await sleep(WINDOW_MS * 2);
      assert.equal(apns.requests.get(t), 1, 'nothing sent to a dead token');
    });

    it('429 and 500 are retried with backoff; a push still refused is dead-lettered', async () => {
      const retried = await pocketPhone(u('bob6'));
      apns.answer(retried, { status: 429, reason: 'TooManyRequests' }, { status: 500, reason: 'InternalServerError' });
      await send(u('alice6'), u('bob6'), ['try again']);
      await eventually(() => pushesTo(retried).length === 1, 'accepted on the third try', 10_000);
      assert.equal(apns.requests.get(retried), 3);

      const dead = await pocketPhone(u('bob7'));
      apns.answer(dead, ...Array.from({ length: 5 }, () => ({ status: 503, reason: 'ServiceUnavailable' })));
      await send(u('alice7'), u('bob7'), ['never']);
      await eventually(() => apns.requests.get(dead) === 5, 'five tries', 15_000);
      await sleep(500);
      assert.equal(pushesTo(dead).length, 0);
      const admin = async (path: string, init: RequestInit = {}) => {
        const headers = { authorization: `Bearer ${server.operatorToken}`, 'content-type': 'application/json' };
        const res = await fetch(`${server.adminUrl}${path}`, { ...init, headers });
        assert.equal(res.status, 200, await res.clone().text());
        return res.json() as Promise<Record<string, unknown>>;
      };
      const listed = (await admin('/v1/admin/push/dead-letters?limit=500')).dead_letters as {
        id: string;
        user: string;
        reason: string;
      }[];
      const letter = listed.find((l) => l.user === u('bob7'));
      assert.ok(letter, 'listed for the operator');
      assert.match(letter.reason, /ServiceUnavailable|503|gave up/);
      const replay = await admin('/v1/admin/push/dead-letters/replay', {
        method: 'POST',
        body: JSON.stringify({ ids: [letter.id] }),
      });
      assert.equal(replay.replayed, 1);
      await eventually(() => pushesTo(dead).length === 1, 'the replayed push accepted');
      const after = (await admin('/v1/admin/push/dead-letters?limit=500')).dead_letters as { id: string }[];
      assert.ok(!after.some((l) => l.id === letter.id), 'a replayed letter leaves the list');
      const devices = (await admin(`/v1/admin/push/devices?user=${u('bob7')}`)).devices as { platform: string }[];
      assert.deepEqual(
        devices.map((d) => d.platform),
        ['apns'],
      );
      const refused = await fetch(`${server.adminUrl}/v1/admin/push/dead-letters`);
      assert.equal(refused.status, 401);
      const metrics = await server.metrics();
      assert.match(metrics, /im_mobile_pushes_total\{provider="apns",outcome="dead-letter"\} 1/);
      assert.match(metrics, /im_mobile_pushes_total\{provider="apns",outcome="dead-token"\} 1/);
    });

    // Last: the notice to everyone counts as unread for every user after it.
    it('a large group’s message and a notice to everyone reach offline members’ devices (stored once, pushed to each)', async () => {
      const [owner, member] = [u('big-owner'), u('big-member')];
      const t = await pocketPhone(member);
      const c = client(owner, 'laptop');
      await c.connect();
      // Above IM_SMALL_GROUP_MAX_MEMBERS (2 here): one timeline entry, delivered through the group's room.
      const group = await c.createGroup('big', [member, u('big-3'), u('big-4')]);
      await c.send({ group: group.groupId }, { text: 'to the large group' });
      await c.close();
      await eventually(
        () =>
          pushesTo(t).some(
            (p) => (p.payload.aps.alert as { body?: string } | undefined)?.body === 'to the large group',
          ),
        'the group push',
      );

      const operator = new OperatorClient({ baseUrl: server.adminUrl, token: server.operatorToken });
      const app = await operator.createApp({ name: `push ${run}`, scopes: ['broadcast'] });
      const notices = new NoticeApiClient({ baseUrl: server.adminUrl, appId: app.id, secret: app.secret });
      await notices.send({
        message_id: `all-${run}`,
        target: { all: true },
        ttl_sec: 600,
        content: { title: `Maintenance ${run}`, body: 'tonight' },
      });
      await eventually(
        () =>
          pushesTo(t).some(
            (p) => (p.payload.aps.alert as { title?: string } | undefined)?.title === `Maintenance ${run}`,
          ),
        'the broadcast push',
        30_000,
      );
    });

    // Only where there is a push process of its own (embedded mode has none to kill).
    if (options.crashPush)
      it('a push process killed -9 mid-stream loses no push job, and a repeat goes out under the same apns-id', async () => {
        const phones = await Promise.all([1, 2, 3, 4, 5].map((i) => pocketPhone(u(`crash${i}`))));
        const crash = await server.crashPushAfter!(2);
        for (const i of [1, 2, 3, 4, 5]) await send(u('alice9'), u(`crash${i}`), [`crash ${i}`]);
        await crash.died;
        await crash.restart();
        await eventually(() => phones.every((t) => pushesTo(t).length >= 1), 'every phone pushed', 30_000);
        for (const t of phones) {
          const pushes = pushesTo(t).map((p) => ({ id: p.headers['apns-id'], alert: p.payload.aps.alert }));
          assert.equal(new Set(pushes.map((p) => p.id)).size, 1, `one push, or its repeat: ${JSON.stringify(pushes)}`);
        }
      });
  });
}
