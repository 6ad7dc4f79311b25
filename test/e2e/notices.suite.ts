import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NoticeApiClient, OperatorClient, type NoticeStatus } from '../../client/notice-api.ts';
import type { NoticeEntry } from '../../client/notices.ts';
import { ImClient } from '../../client/sdk.ts';
import { eventually, eventuallyAsync, sleep, type Target } from './harness.ts';

/** A server under test with its notice API and the operator's credential. */
export interface NoticeTarget extends Target {
  noticeUrl: string;
  operatorToken: string;
}

interface Device {
  client: ImClient;
  notices: NoticeEntry[];
  recalled: string[];
  close(): Promise<void>;
}

/**
 * System notices end to end: an operator creates an app, the app sends signed requests, users' devices (the SDK)
 * get notices live and through sync, with unread counts, schedule, expiry and cancel. User ids carry a per-run
 * suffix because cluster mode keeps its data between runs.
 */
export function noticesSuite(label: string, setup: () => Promise<NoticeTarget>): void {
  describe(`system notices (${label})`, () => {
    const run = Date.now().toString(36);
    const u = (name: string) => `${name}-${run}`;
    let server: NoticeTarget;
    let api: NoticeApiClient;
    let msg = 0;
    const messageId = () => `m-${run}-${++msg}`;
    const devices: Device[] = [];

    before(async () => {
      server = await setup();
      const operator = new OperatorClient({ baseUrl: server.noticeUrl, token: server.operatorToken });
      const app = await operator.createApp({
        name: `suite ${run}`,
        scopes: ['unicast', 'multicast', 'tag', 'broadcast', 'read'],
        rate_limits: { requests_per_second: 1000, recipients_per_second: 10_000 },
      });
      api = new NoticeApiClient({ baseUrl: server.noticeUrl, appId: app.id, secret: app.secret });
    });
    after(async () => {
      await Promise.all(devices.map((d) => d.close()));
      await server.close();
    });

    /** A connected device that records the notices it shows (from the first sync on). */
    const device = async (user: string, name = 'phone'): Promise<Device> => {
      const client = new ImClient({
        url: server.urlFor(user, name),
        token: () => server.token(user, name),
        backoff: { minMs: 50, maxMs: 500 },
      });
      const d: Device = { client, notices: [], recalled: [], close: () => client.close() };
      client.on('notice', (n) => d.notices.push(n));
      client.on('noticeRecalled', (id) => d.recalled.push(id));
      client.on('error', () => undefined);
      await client.connect();
      devices.push(d);
      return d;
    };
    /** What the device shows besides broadcasts (every new user also sees the earlier tests' broadcasts). */
    const titles = (d: Device) => d.notices.filter((n) => n.audience !== 'all').map((n) => n.title);
    const allTitles = (d: Device) => d.notices.map((n) => n.title);
    const systemUnread = (d: Device) => d.client.unread.get('system') ?? 0;
    const sent = async (status: NoticeStatus) => {
      let current = status;
      await eventuallyAsync(async () => (current = await api.get(status.id)).state === 'sent', `${status.id} sent`);
      return current;
    };

    it('unicast: the online device gets it live, counted unread; a read marker clears it and the status says read', async () => {
      const bob = await device(u('uni-bob'));
      const status = await api.send({
        message_id: messageId(),
        target: { users: [u('uni-bob')] },
        content: { title: 'Order shipped', body: 'Order 42 is on its way', data: { order: '42' } },
        priority: 'high',
      });
      assert.equal(status.created, true);
      await eventually(() => titles(bob).length === 1, 'the notice');
      const notice = bob.notices.find((n) => n.audience === 'users');
      assert.equal(notice!.title, 'Order shipped');
      assert.deepEqual(notice!.data, { order: '42' });
      assert.equal(notice!.appId, status.app_id);
      const unreadBefore = systemUnread(bob);
      assert.ok(unreadBefore >= 1);
      const done = await sent(status);
      assert.deepEqual(done.counts, { targeted: 1, stored: 1, delivered: 1, read: 0 });
      assert.ok(done.first_delivery_ms > 0);
      await bob.client.markRead('system', notice!.seq, notice!.stream);
      await eventuallyAsync(async () => (await api.get(status.id)).recipients[0]?.read === true, 'read in the status');
      const other = await device(u('uni-bob'), 'laptop');
      assert.equal(systemUnread(other), unreadBefore - 1, 'read on one device is read on all');
      assert.deepEqual(titles(other), ['Order shipped'], 'another device gets it through sync');
    });

    it('multicast: online and offline users; the offline one gets it with its first sync', async () => {
      const online = await device(u('multi-on'));
      const status = await api.send({
        message_id: messageId(),
        target: { users: [u('multi-on'), u('multi-off')] },
        content: { title: 'Sale', body: 'Today only' },
      });
      await eventually(() => titles(online).length === 1, 'the online user notice');
      const done = await sent(status);
      assert.equal(done.counts.targeted, 2);
      assert.equal(done.counts.stored, 2);
      const offline = await device(u('multi-off'));
      assert.deepEqual(titles(offline), ['Sale']);
      assert.equal(systemUnread(offline), allTitles(offline).length, 'each notice it shows counts as unread');
    });

    it('broadcast: stored once, live to online devices, and read by users who connect later, new ones included', async () => {
      const early = await device(u('all-early'));
      const title = `Maintenance ${run}`;
      const status = await api.send({
        message_id: messageId(),
        target: { all: true },
        ttl_sec: 600,
        content: { title, body: 'at 2am' },
      });
      await eventually(() => allTitles(early).includes(title), 'the broadcast live');
      const done = await sent(status);
      assert.equal(done.counts.stored, 1, 'one row, whatever the audience');
      const newcomer = await device(u('all-new-user'));
      assert.ok(allTitles(newcomer).includes(title), 'a user who never connected before sees it');
      assert.ok(systemUnread(newcomer) >= 1);
      // Both read it: counted once each in the status, and the newcomer's count drops by what it read.
      for (const d of [early, newcomer]) {
        const seen = d.notices.find((n) => n.title === title)!;
        await d.client.markRead('system', seen.seq, seen.stream);
      }
      await eventuallyAsync(async () => (await api.get(status.id)).counts.read === 2, 'two reads counted');
      const later = await device(u('all-new-user'), 'laptop');
      assert.equal(systemUnread(later), 0, 'read up to the newest notice on one device: read on every device');
    });

    it('tag: tagged users get it (online live, offline through sync); untagged users and users tagged later do not', async () => {
      const tag = `vip-${run}`;
      await api.tag(tag, { add: [u('tag-on'), u('tag-off'), u('tag-gone')] });
      await api.tag(tag, { remove: [u('tag-gone')] });
      const tagged = await device(u('tag-on'));
      const untagged = await device(u('tag-none'));
      const title = `VIP preview ${run}`;
      const status = await api.send({ message_id: messageId(), target: { tag }, content: { title, body: '' } });
      await eventually(() => titles(tagged).includes(title), 'the tag notice live');
      const done = await sent(status);
      assert.equal(done.counts.targeted, 2);
      await api.tag(tag, { add: [u('tag-late')] });
      const [offline, gone, late] = await Promise.all([
        device(u('tag-off')),
        device(u('tag-gone')),
        device(u('tag-late')),
      ]);
      assert.ok(titles(offline).includes(title));
      await untagged.client.sync();
      for (const d of [untagged, gone, late]) assert.ok(!titles(d).includes(title));
    });

    it('the same message_id returns the same notice and stores nothing new', async () => {
      const bob = await device(u('idem-bob'));
      const request = {
        message_id: messageId(),
        target: { users: [u('idem-bob')] },
        content: { title: 'Once', body: '' },
      };
      const first = await api.send(request);
      const again = await api.send(request);
      assert.equal(again.created, false);
      assert.equal(again.id, first.id);
      await eventually(() => titles(bob).length === 1, 'the notice');
      await sleep(300);
      await bob.client.sync();
      assert.deepEqual(titles(bob), ['Once']);
    });

    it('a scheduled notice waits for deliver_at, then fires once', async () => {
      const bob = await device(u('sched-bob'));
      const deliverAt = Date.now() + 1500;
      const status = await api.send({
        message_id: messageId(),
        target: { users: [u('sched-bob')] },
        content: { title: 'Later', body: '' },
        deliver_at_ms: deliverAt,
      });
      assert.equal(status.state, 'scheduled');
      await sleep(500);
      assert.equal(titles(bob).length, 0, 'not before its time');
      await eventually(() => titles(bob).length === 1, 'the scheduled notice', 5_000);
      const done = await sent(status);
      assert.ok(done.fired_at_ms >= deliverAt);
      await sleep(500);
      await bob.client.sync();
      assert.deepEqual(titles(bob), ['Later'], 'fired once');
    });

    it('an expired notice leaves sync and the unread count', async () => {
      const status = await api.send({
        message_id: messageId(),
        target: { users: [u('exp-bob')] },
        content: { title: 'Flash sale', body: '' },
        ttl_sec: 1,
      });
      await sent(status);
      await eventuallyAsync(async () => (await api.get(status.id)).state === 'expired', 'expired', 5_000);
      const bob = await device(u('exp-bob'));
      assert.deepEqual(titles(bob), []);
      assert.equal(systemUnread(bob), allTitles(bob).length, 'only the broadcasts it shows count');
    });

    it('cancelled before its time, a notice never fires', async () => {
      const bob = await device(u('cb-bob'));
      const status = await api.send({
        message_id: messageId(),
        target: { users: [u('cb-bob')] },
        content: { title: 'Never', body: '' },
        deliver_at_ms: Date.now() + 1000,
      });
      const cancelled = await api.cancel(status.id);
      assert.equal(cancelled.state, 'cancelled');
      await sleep(1800);
      await bob.client.sync();
      assert.deepEqual(titles(bob), []);
      assert.equal((await api.get(status.id)).state, 'cancelled');
    });

    it('cancelled after it fired, a notice is recalled from every device, sync and unread', async () => {
      const bob = await device(u('ca-bob'));
      const title = `Wrong price ${run}`;
      const status = await api.send({
        message_id: messageId(),
        target: { users: [u('ca-bob')] },
        content: { title, body: '' },
      });
      await eventually(() => titles(bob).includes(title), 'the notice');
      const broadcast = await api.send({
        message_id: messageId(),
        target: { all: true },
        ttl_sec: 600,
        content: { title: `${title} (all)`, body: '' },
      });
      await eventually(() => allTitles(bob).includes(`${title} (all)`), 'the broadcast');
      await sent(broadcast);
      await api.cancel(status.id);
      await api.cancel(broadcast.id);
      await eventually(() => bob.recalled.includes(status.id) && bob.recalled.includes(broadcast.id), 'both recalls');
      const fresh = await device(u('ca-bob'), 'tablet');
      assert.ok(!allTitles(fresh).some((t) => t.startsWith(title)), 'gone from sync');
      assert.equal(systemUnread(fresh), allTitles(fresh).length, 'gone from unread');
      const stranger = await device(u('ca-new'));
      assert.ok(!allTitles(stranger).some((t) => t.startsWith(title)), 'the broadcast is gone for newcomers too');
    });
  });
}
