import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImClient, type Message } from '../../client/sdk.ts';
import { connect, eventually, sleep, type Target } from './harness.ts';
import { RawSocket } from './raw-socket.ts';

/**
 * The end-to-end chat scenarios, run against every way the product can be deployed: embedded (services wired
 * directly or over loopback gRPC) and cluster mode (a process per service, devices spread over gateways).
 * User ids carry a per-run suffix because cluster mode keeps its data between runs.
 */
/** The servers this suite runs against switch groups above this many members to read fan-out. */
export const LARGE_GROUP_ABOVE = 4;
/** Edit limits short enough to test: the servers this suite runs against are started with them. */
const EDIT_WINDOW_MS = 4_000;
const MAX_EDITS = 3;

/** How the servers of this suite are configured, as config overrides (embedded) and as IM_* variables (cluster). */
export const CHAT_SUITE_CONFIG = {
  smallGroupMaxMembers: LARGE_GROUP_ABOVE,
  editWindowMs: EDIT_WINDOW_MS,
  maxEditsPerMessage: MAX_EDITS,
} as const;
export const CHAT_SUITE_ENV = {
  IM_SMALL_GROUP_MAX_MEMBERS: String(LARGE_GROUP_ABOVE),
  IM_EDIT_WINDOW_MS: String(EDIT_WINDOW_MS),
  IM_MAX_EDITS_PER_MESSAGE: String(MAX_EDITS),
};

export function chatSuite(label: string, setup: () => Promise<Target>): void {
  describe(`chat over a real WebSocket (${label})`, () => {
    const run = Date.now().toString(36);
    const u = (name: string) => `${name}-${run}`;
    let server: Target;
    before(async () => {
      server = await setup();
    });
    after(() => server.close());

    it('delivers a 1:1 message to the online recipient and answers the sender with the durable result', async () => {
      const alice = await connect(server, u('alice1'), 'laptop');
      const bob = await connect(server, u('bob1'), 'phone');
      const result = await alice.client.send({ user: u('bob1') }, { text: 'hi bob' });
      assert.equal(result.conversation, `dm:${u('alice1')}:${u('bob1')}`);
      assert.ok(result.serverMsgId.length > 0);
      assert.ok(result.seq > 0);
      await eventually(() => bob.messages.length === 1, 'bob gets the message');
      const m = bob.messages[0]!;
      assert.deepEqual(
        {
          from: m.fromUser,
          text: Buffer.from(m.body).toString(),
          conversation: m.conversation,
          id: m.serverMsgId,
          cmid: m.clientMsgId,
        },
        {
          from: u('alice1'),
          text: 'hi bob',
          conversation: `dm:${u('alice1')}:${u('bob1')}`,
          id: result.serverMsgId,
          cmid: result.clientMsgId,
        },
      );
      await alice.client.close();
      await bob.client.close();
    });

    it('lets an offline recipient get the message by sync after reconnecting', async () => {
      const alice = await connect(server, u('alice2'), 'laptop');
      await alice.client.send({ user: u('bob2') }, { text: 'while you were away' });
      const bob = await connect(server, u('bob2'), 'phone');
      assert.deepEqual(bob.texts(), ['while you were away']);
      await alice.client.close();
      await bob.client.close();
    });

    it('hands a connecting device what it has not acked, unless it said it pulls that itself (catch_up=0)', async () => {
      const alice = await connect(server, u('catchup-a'), 'laptop');
      await alice.client.send({ user: u('catchup-b') }, { text: 'one' });
      await alice.client.send({ user: u('catchup-b') }, { text: 'two' });
      const greeted = (s: RawSocket) => s.next((f) => (f.body?.$case === 'authResult' ? true : undefined));
      // The puller first: push handles one user's state changes in order, so once the other device has its
      // catch-up, the puller's would have come already.
      const puller = await RawSocket.open(
        server.urlFor(u('catchup-b'), 'tab'),
        server.token(u('catchup-b'), 'tab'),
        'catch_up=0',
      );
      await greeted(puller);
      const pushed = await RawSocket.open(
        server.urlFor(u('catchup-b'), 'phone'),
        server.token(u('catchup-b'), 'phone'),
      );
      await greeted(pushed);
      const caughtUp = await pushed.next((f) => (f.body?.$case === 'deliver' ? f.body.value.messages : undefined));
      assert.deepEqual(
        caughtUp.map((m) => Buffer.from(m.body).toString()),
        ['one', 'two'],
      );
      await sleep(200);
      assert.deepEqual(
        puller.frames.map((f) => f.body?.$case),
        [],
      );
      const bad = await RawSocket.open(
        server.urlFor(u('catchup-b'), 'x'),
        server.token(u('catchup-b'), 'x'),
        'catch_up=yes',
      ).then(
        () => undefined,
        (err: { status: number; body: string }) => err,
      );
      assert.equal(bad?.status, 400);
      assert.match(bad.body, /catch_up must be 0 or 1/);
      for (const s of [puller, pushed]) s.ws.close();
      await alice.client.close();
    });

    it("reaches both devices of the recipient and the sender's other device", async () => {
      const senderLaptop = await connect(server, u('alice3'), 'laptop');
      const senderPhone = await connect(server, u('alice3'), 'phone');
      const bobPhone = await connect(server, u('bob3'), 'phone');
      const bobPc = await connect(server, u('bob3'), 'pc');
      await senderLaptop.client.send({ user: u('bob3') }, { text: 'to all your devices' });
      await eventually(() => bobPhone.messages.length === 1 && bobPc.messages.length === 1, 'both of bob’s devices');
      await eventually(() => senderPhone.messages.length === 1, "the sender's phone");
      assert.equal(senderPhone.messages[0]!.fromDevice, 'laptop');
      for (const c of [senderLaptop, senderPhone, bobPhone, bobPc]) await c.client.close();
    });

    it('stores one message for a repeated client_msg_id and returns the first result', async () => {
      const alice = await connect(server, u('alice4'), 'laptop');
      const first = await alice.client.send({ user: u('bob4') }, { text: 'once' }, 'fixed-id-1');
      const again = await alice.client.send({ user: u('bob4') }, { text: 'once' }, 'fixed-id-1');
      assert.deepEqual(again, first);
      const bob = await connect(server, u('bob4'), 'phone');
      assert.deepEqual(bob.texts(), ['once']);
      await alice.client.close();
      await bob.client.close();
    });

    it('pages through 1,000 messages with has_more, each exactly once and in order', async () => {
      // One conversation is processed in order; under load in cluster mode 1,000 sends can take longer than 30 s.
      const alice = await connect(server, u('alice5'), 'laptop', { sendTimeoutMs: 180_000 });
      const sends = Array.from({ length: 1000 }, (_, i) => alice.client.send({ user: u('bob5') }, { text: `m${i}` }));
      await Promise.all(sends);
      const reader = new ImClient({ url: server.urlFor(u('bob5'), 'tool'), token: server.token(u('bob5'), 'tool') });
      await reader.connect().catch(() => undefined);
      const seen: string[] = [];
      let key = '';
      let pages = 0;
      for (;;) {
        const page = await reader.getDiff(key, 128);
        pages++;
        seen.push(...page.messages.map((m) => Buffer.from(m.body).toString()));
        key = page.syncKey;
        if (!page.hasMore) break;
      }
      assert.equal(pages, 8);
      assert.deepEqual(
        seen,
        Array.from({ length: 1000 }, (_, i) => `m${i}`),
      );
      await reader.close();
      await alice.client.close();
    });

    it('resumes an SDK restarted from its saved state without gaps or duplicates', async () => {
      const alice = await connect(server, u('alice6'), 'laptop');
      const bob = await connect(server, u('bob6'), 'phone');
      for (let i = 0; i < 5; i++) await alice.client.send({ user: u('bob6') }, { text: `a${i}` });
      await eventually(() => bob.messages.length === 5, 'first five');
      await sleep(250); // let the debounced ack land
      const saved = bob.client.state;
      await bob.client.close();
      for (let i = 5; i < 10; i++) await alice.client.send({ user: u('bob6') }, { text: `a${i}` });
      const resumed = await connect(server, u('bob6'), 'phone', { state: saved });
      await alice.client.send({ user: u('bob6') }, { text: 'a10' });
      await eventually(() => resumed.messages.length === 6, 'the rest');
      await sleep(200);
      assert.deepEqual(resumed.texts(), ['a5', 'a6', 'a7', 'a8', 'a9', 'a10']);
      await alice.client.close();
      await resumed.client.close();
    });

    it('runs small groups: members receive, outsiders cannot send, unknown groups are refused', async () => {
      const owner = await connect(server, u('gowner'), 'pc');
      const member = await connect(server, u('gmember'), 'pc');
      const outsider = await connect(server, u('goutsider'), 'pc');
      const group = await owner.client.createGroup('team', [u('gmember')]);
      assert.equal(group.memberCount, 2);
      await owner.client.send({ group: group.groupId }, { text: 'hello team' });
      await eventually(() => member.messages.length === 1, 'member gets group message');
      assert.equal(member.messages[0]!.conversation, `group:${group.groupId}`);
      await assert.rejects(outsider.client.send({ group: group.groupId }, { text: 'let me in' }), {
        code: 'NOT_MEMBER',
      });
      await assert.rejects(outsider.client.send({ group: 'no-such-group' }, { text: '?' }), { code: 'NOT_FOUND' });
      await assert.rejects(outsider.client.groupMembers(group.groupId), { code: 'NOT_MEMBER' });
      await owner.client.addMembers(group.groupId, [u('goutsider')]);
      assert.deepEqual((await owner.client.groupMembers(group.groupId)).members, [
        u('gmember'),
        u('goutsider'),
        u('gowner'),
      ]);
      await outsider.client.send({ group: group.groupId }, { text: 'thanks' });
      await member.client.removeMembers(group.groupId, [u('gmember')]);
      await assert.rejects(member.client.send({ group: group.groupId }, { text: 'still here?' }), {
        code: 'NOT_MEMBER',
      });
      await assert.rejects(outsider.client.removeMembers(group.groupId, [u('gowner')]), { code: 'FORBIDDEN' });
      await eventually(() => owner.messages.length === 2, 'owner sees both');
      for (const c of [owner, member, outsider]) await c.client.close();
    });

    it('serves sync over HTTP with a bearer token', async () => {
      const alice = await connect(server, u('alice7'), 'laptop');
      await alice.client.send({ user: u('bob7') }, { text: 'pull me' });
      const url = `${server.urlFor(u('bob7'), 'phone').replace(/^ws/, 'http')}/v1/sync`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token(u('bob7'), 'phone')}` },
        body: '{"limit":10}',
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        messages: { text: string; from: string }[];
        sync_key: string;
        has_more: boolean;
      };
      assert.deepEqual(
        body.messages.map((m) => [m.from, m.text]),
        [[u('alice7'), 'pull me']],
      );
      assert.equal(body.has_more, false);
      const again = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token(u('bob7'), 'phone')}` },
        body: JSON.stringify({ sync_key: body.sync_key }),
      });
      assert.deepEqual(((await again.json()) as { messages: unknown[] }).messages, []);
      const noToken = await fetch(url, { method: 'POST', body: '{}' });
      assert.equal(noToken.status, 401);
      const otherUser = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token(u('eve7'), 'phone')}` },
        body: JSON.stringify({ sync_key: body.sync_key }),
      });
      assert.equal(otherUser.status, 400);
      assert.equal(((await otherUser.json()) as { code: string }).code, 'BAD_SYNC_KEY');
      const notJson = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token(u('bob7'), 'phone')}` },
        body: '{oops',
      });
      assert.equal(notJson.status, 400);
      await alice.client.close();
    });

    it('syncs read state: reading on one device clears the unread count on the other', async () => {
      const [alice, bob] = [u('alice8'), u('bob8')];
      const sender = await connect(server, alice, 'laptop');
      const phone = await connect(server, bob, 'phone');
      const pc = await connect(server, bob, 'pc');
      for (let i = 0; i < 3; i++) await sender.client.send({ user: bob }, { text: `unread ${i}` });
      await sender.client.send({ user: u('carol8') }, { text: 'elsewhere' });
      const conversation = `dm:${alice}:${bob}`;
      await eventually(
        () => phone.client.unread.get(conversation) === 3 && pc.client.unread.get(conversation) === 3,
        'three unread on both devices',
      );
      assert.equal(pc.client.totalUnread, 3);
      const last = phone.messages.at(-1)!;
      await phone.client.markRead(conversation, last.seq - 1);
      await eventually(() => pc.client.unread.get(conversation) === 1, 'the pc learns the phone read two of three');
      await phone.client.markRead(conversation, last.seq);
      await phone.client.markRead(conversation, last.seq - 2); // a marker never moves backwards
      await eventually(
        () => pc.client.unread.get(conversation) === 0 && pc.client.totalUnread === 0,
        'the pc is cleared',
      );
      const later = await connect(server, bob, 'tablet');
      assert.equal(later.client.totalUnread, 0);
      assert.equal(later.client.unread.get(conversation) ?? 0, 0);
      await sender.client.send({ user: bob }, { text: 'one more' });
      await eventually(
        () => later.client.unread.get(conversation) === 1 && pc.client.totalUnread === 1,
        'a new message counts again',
      );
      for (const c of [sender, phone, pc, later]) await c.client.close();
    });

    it('counts unread in large groups the same on every device, and reading on one clears the other', async () => {
      const owner = await connect(server, u('lu-owner'), 'pc');
      const bob = u('lu-bob');
      const group = await owner.client.createGroup('unread', [bob, u('lu-a'), u('lu-b'), u('lu-c')]); // 5 members
      const conversation = `group:${group.groupId}`;
      await owner.client.addMembers(group.groupId, [u('lu-d')]); // 6: large, read fan-out from here
      const phone = await connect(server, bob, 'phone');
      const pc = await connect(server, bob, 'pc');
      for (let i = 0; i < 3; i++) await owner.client.send({ group: group.groupId }, { text: `lu ${i}` });
      await eventually(
        () => phone.client.unread.get(conversation) === 3 && pc.client.unread.get(conversation) === 3,
        'three unread on both devices',
      );
      const second = phone.messages[1]!;
      assert.equal(second.stream, conversation, 'a large group’s message comes from its timeline');
      await assert.rejects(phone.client.markRead(conversation, second.seq + 1_000, conversation), {
        code: 'INVALID_ARGUMENT',
      });
      await phone.client.markRead(conversation, second.seq, second.stream);
      await eventually(() => pc.client.unread.get(conversation) === 1, 'the pc learns the phone read two of three');
      const later = await connect(server, bob, 'tablet');
      assert.equal(later.client.unread.get(conversation), 1, 'a device that syncs later agrees');
      await pc.client.send({ group: group.groupId }, { text: 'bob answers' }); // sending reads what came before
      await eventually(() => phone.client.unread.get(conversation) === 0, 'sending clears the count');
      await owner.client.send({ group: group.groupId }, { text: 'lu 3' });
      await eventually(() => later.client.unread.get(conversation) === 1, 'a new message counts again');
      // A new member sees the history but owes none of it.
      await owner.client.addMembers(group.groupId, [u('lu-new')]);
      const newcomer = await connect(server, u('lu-new'), 'phone');
      assert.equal(newcomer.texts().length, 5);
      assert.equal(newcomer.client.unread.get(conversation) ?? 0, 0);
      for (const c of [owner, phone, pc, later, newcomer]) await c.client.close();
    });

    it('recalls and edits in the seq stream, so a device that syncs later sees the final state', async () => {
      const [alice, bob] = [u('alice9'), u('bob9')];
      const sender = await connect(server, alice, 'laptop');
      const online = await connect(server, bob, 'phone');
      await sender.client.send({ user: bob }, { text: 'first draft' }, 'm-edit');
      await sender.client.send({ user: bob }, { text: 'oops' }, 'm-recall');
      await eventually(() => online.messages.length === 2, 'both messages');
      const [toEdit, toRecall] = online.messages as [Message, Message];
      await sender.client.edit(toEdit, 'final text');
      await sender.client.recall(toRecall);
      await eventually(() => online.messages.length === 4, 'the two operations arrive live');
      const ops = online.messages.slice(2).map((m) => [m.op?.kind?.$case, Buffer.from(m.body).toString()]);
      assert.deepEqual(ops, [
        ['edit', 'final text'],
        ['recall', ''],
      ]);
      const fresh = await connect(server, bob, 'new-pc');
      assert.deepEqual(finalView(fresh.messages), ['final text']);
      assert.equal(fresh.client.unread.get(`dm:${alice}:${bob}`), 1);
      await assert.rejects(online.client.recall(toEdit), { code: 'NOT_FOUND' }); // not bob's message
      for (const c of [sender, online, fresh]) await c.client.close();
    });

    it('refuses an edit or a recall addressed to a conversation other than the message’s', async () => {
      const [alice, bob, carol] = [u('to-a'), u('to-b'), u('to-c')];
      const sender = await connect(server, alice, 'laptop');
      const online = await connect(server, bob, 'phone');
      const other = await connect(server, carol, 'phone');
      const group = await sender.client.createGroup('elsewhere', [carol]);
      await sender.client.send({ user: bob }, { text: 'to bob' }, 'm-to');
      await eventually(() => online.messages.length === 1, 'bob gets the message');
      const ref = { fromDevice: 'laptop', clientMsgId: 'm-to' };
      await assert.rejects(sender.client.edit({ ...ref, conversation: `dm:${alice}:${carol}` }, 'for carol'), {
        code: 'INVALID_ARGUMENT',
      });
      await assert.rejects(sender.client.edit({ ...ref, conversation: `group:${group.groupId}` }, 'for the group'), {
        code: 'INVALID_ARGUMENT',
      });
      await assert.rejects(sender.client.recall({ ...ref, conversation: `group:${group.groupId}` }), {
        code: 'INVALID_ARGUMENT',
      });
      await sleep(300);
      assert.deepEqual(online.texts(), ['to bob']);
      assert.deepEqual(other.texts(), []);
      // Addressed to its own conversation, the same edit goes through.
      await sender.client.edit({ ...ref, conversation: `dm:${alice}:${bob}` }, 'to bob, edited');
      await eventually(() => online.messages.length === 2, 'the edit');
      assert.deepEqual(finalView(online.messages), ['to bob, edited']);
      for (const c of [sender, online, other]) await c.client.close();
    });

    it(`refuses edits past the limit per message (${MAX_EDITS}) and past the edit window`, async () => {
      const [alice, bob] = [u('ew-a'), u('ew-b')];
      const sender = await connect(server, alice, 'laptop');
      const online = await connect(server, bob, 'phone');
      await sender.client.send({ user: bob }, { text: 'v0' }, 'm-limit');
      await sender.client.send({ user: bob }, { text: 'old' }, 'm-window');
      await eventually(() => online.messages.length === 2, 'both messages');
      const [limited, aging] = online.messages as [Message, Message];
      for (let i = 1; i <= MAX_EDITS; i++) await sender.client.edit(limited, `v${i}`);
      await assert.rejects(sender.client.edit(limited, 'one too many'), { code: 'FORBIDDEN', message: /at most/ });
      await sleep(EDIT_WINDOW_MS + 500);
      await assert.rejects(sender.client.edit(aging, 'too late'), { code: 'FORBIDDEN', message: /within/ });
      await sleep(300);
      assert.deepEqual(online.texts(), ['v0', 'old', 'v1', 'v2', 'v3']);
      for (const c of [sender, online]) await c.client.close();
    });

    it('leaves tombstones without a body for every recipient after a recall: 1:1, small and large groups', async () => {
      const owner = u('tb-owner');
      const sender = await connect(server, owner, 'pc');
      const small = [u('tb-s1'), u('tb-s2')];
      const large = Array.from({ length: LARGE_GROUP_ABOVE + 1 }, (_, i) => u(`tb-l${i}`));
      const smallGroup = await sender.client.createGroup('tb-small', small);
      const largeGroup = await sender.client.createGroup('tb-large', large);
      const cases = [
        { to: { user: u('tb-peer') }, readers: [owner, u('tb-peer')] },
        { to: { group: smallGroup.groupId }, readers: [owner, ...small] },
        { to: { group: largeGroup.groupId }, readers: [owner, ...large] },
      ];
      const originals = [];
      for (const [i, { to }] of cases.entries()) {
        const sent = await sender.client.send(to, { text: `secret ${i}` }, `tb-${i}`);
        const original = { conversation: sent.conversation, fromDevice: 'pc', clientMsgId: `tb-${i}` };
        originals.push(original);
        await sender.client.edit(original, `secret ${i}, edited`);
        await sender.client.recall(original);
      }
      for (const [i, { readers }] of cases.entries()) {
        for (const reader of readers) {
          const fresh = await connect(server, reader, `tb-fresh-${i}`);
          const entries = await syncFromScratch(fresh.client);
          const ofCase = entries.filter((m) => m.fromUser === owner && subjectOf(m) === `tb-${i}`);
          const what = `${reader} in case ${i}`;
          assert.deepEqual(
            ofCase.map((m) => [m.op?.kind?.$case ?? 'message', m.recalled === true, m.body.length]),
            [
              ['message', true, 0],
              ['edit', true, 0],
              ['recall', false, 0],
            ],
            what,
          );
          assert.equal(ofCase[0]!.serverMsgId.length > 0, true, what);
          assert.ok(!entries.some((m) => Buffer.from(m.body).toString().includes('secret')), what);
          await fresh.client.close();
        }
      }
      // Taken back: it cannot be edited back into existence.
      await assert.rejects(sender.client.edit(originals[0]!, 'revived'), { code: 'FORBIDDEN', message: /recalled/ });
      await sender.client.close();
    });

    // The servers under this suite switch groups above LARGE_GROUP_ABOVE members to read fan-out.
    it('keeps every member’s history whole while a group grows past the threshold and shrinks again', async () => {
      const owner = await connect(server, u('lg-owner'), 'pc');
      const early = [u('lg-a'), u('lg-b')];
      const late = [u('lg-c'), u('lg-d'), u('lg-e')];
      const online = await Promise.all([...early, late[0]!].map((m) => connect(server, m, 'phone')));
      const group = await owner.client.createGroup('growing', early);
      const send = (text: string) => owner.client.send({ group: group.groupId }, { text });
      await send('small 1');
      await send('small 2');
      await owner.client.addMembers(group.groupId, late); // 6 members: large from now on
      await send('large 1');
      await send('large 2');
      await owner.client.removeMembers(group.groupId, late); // back to small
      await send('small 3');
      const expectEarly = ['small 1', 'small 2', 'large 1', 'large 2', 'small 3'];
      await eventually(() => online[0]!.texts().length === 5 && online[1]!.texts().length === 5, 'early members');
      assert.deepEqual(online[0]!.texts(), expectEarly);
      assert.deepEqual(online[1]!.texts(), expectEarly);
      await eventually(() => online[2]!.texts().length >= 2, 'a late member gets the large-mode messages');
      await sleep(300);
      // A member removed keeps what they had and gets nothing after.
      assert.deepEqual(online[2]!.texts(), ['large 1', 'large 2']);
      const fresh = await connect(server, early[0]!, 'new-tablet');
      assert.deepEqual(fresh.texts(), expectEarly);
      const lateFresh = await connect(server, late[1]!, 'later');
      assert.deepEqual(lateFresh.texts(), []); // removed before it ever synced: the timeline is no longer theirs
      for (const c of [owner, ...online, fresh, lateFresh]) await c.client.close();
    });

    it('puts a member added to a large group in its room at once, and takes a removed member out', async () => {
      const owner = await connect(server, u('room-owner'), 'pc');
      const members = Array.from({ length: 5 }, (_, i) => u(`room-${i}`)); // 6 with the owner: large
      const group = await owner.client.createGroup('room', members);
      const stays = await connect(server, members[0]!, 'phone');
      const removed = await connect(server, members[1]!, 'phone');
      const added = await connect(server, u('room-new'), 'phone'); // online before anyone adds them
      const send = (text: string) => owner.client.send({ group: group.groupId }, { text });
      await send('one');
      await eventually(() => removed.texts().length === 1, 'members in the room get the first message');
      await owner.client.addMembers(group.groupId, [u('room-new')]);
      await send('two');
      await owner.client.removeMembers(group.groupId, [members[1]!]);
      await send('three');
      await eventually(() => stays.texts().length === 3 && added.texts().length === 3, 'stayed and added members');
      await sleep(300);
      assert.deepEqual(stays.texts(), ['one', 'two', 'three']);
      // A new member sees the group's retained history (their cursor starts at its beginning), then live messages.
      assert.deepEqual(added.texts(), ['one', 'two', 'three']);
      assert.deepEqual(removed.texts(), ['one', 'two'], 'a removed member gets nothing new, live or otherwise');
      for (const c of [owner, stays, removed, added]) await c.client.close();
    });

    it('delivers every message of a large group to every member exactly once, in order', async () => {
      const owner = await connect(server, u('big-owner'), 'pc');
      const members = Array.from({ length: 60 }, (_, i) => u(`big-${i}`));
      const group = await owner.client.createGroup('big', members);
      const online = await Promise.all(members.slice(0, 20).map((m) => connect(server, m, 'phone')));
      const expected = Array.from({ length: 20 }, (_, i) => `big ${i}`);
      await Promise.all(expected.map((text) => owner.client.send({ group: group.groupId }, { text })));
      await eventually(() => online.every((c) => c.messages.length >= 20), 'every online member', 30_000);
      await sleep(200);
      const reference = online[0]!.texts();
      assert.deepEqual([...reference].sort(), [...expected].sort());
      for (const c of online) assert.deepEqual(c.texts(), reference, 'same order for every member, no duplicate');
      const offline = await connect(server, members[59]!, 'pc');
      assert.deepEqual(offline.texts(), reference);
      for (const c of [owner, ...online, offline]) await c.client.close();
    });

    it('delivers a 5,000-member group’s messages to every member once, in order (100 online)', async () => {
      const owner = await connect(server, u('huge-owner'), 'pc');
      const members = Array.from({ length: 4_999 }, (_, i) => u(`huge-${i}`));
      const group = await owner.client.createGroup('huge', members.slice(0, 1_000));
      for (let i = 1_000; i < members.length; i += 1_000) {
        await owner.client.addMembers(group.groupId, members.slice(i, i + 1_000));
      }
      const online = await Promise.all(members.slice(0, 100).map((m) => connect(server, m, 'phone')));
      const expected = Array.from({ length: 5 }, (_, i) => `huge ${i}`);
      const callsBefore = await server.roomCalls();
      const started = Date.now();
      for (const text of expected) await owner.client.send({ group: group.groupId }, { text });
      await eventually(() => online.every((c) => c.messages.length >= 5), 'all 100 online members', 60_000);
      const tookMs = Date.now() - started;
      await sleep(200);
      for (const c of online) assert.deepEqual(c.texts(), expected);
      // Gateway-local rooms: one call per gateway node per message, however many members are online.
      assert.equal((await server.roomCalls()) - callsBefore, expected.length * server.gatewayCount);
      const late = await connect(server, members[4_998]!, 'pc');
      assert.deepEqual(late.texts(), expected);
      process.stderr.write(`5,000-member group: 5 messages to 100 online members in ${tookMs} ms\n`);
      for (const c of [owner, ...online, late]) await c.client.close();
    });

    it('syncs a user in 200 large groups of which one changed in one round trip', async () => {
      const user = u('many');
      const owner = await connect(server, u('many-owner'), 'pc');
      const groups: string[] = [];
      for (let i = 0; i < 200; i++) {
        const g = await owner.client.createGroup(`g${i}`, [user, u('m1'), u('m2'), u('m3'), u('m4')]);
        groups.push(g.groupId);
      }
      await Promise.all(groups.map((g) => owner.client.send({ group: g }, { text: `hello ${g}` })));
      const reader = new ImClient({ url: server.urlFor(user, 'tool'), token: server.token(user, 'tool') });
      await reader.connect();
      let key = '';
      for (let page = 0; page < 10; page++) {
        const res = await reader.getDiff(key, 500);
        key = res.syncKey;
        if (!res.hasMore) break;
      }
      await owner.client.send({ group: groups[137]! }, { text: 'only this one changed' });
      const res = await reader.getDiff(key, 500);
      assert.deepEqual(
        res.messages.map((m) => Buffer.from(m.body).toString()),
        ['only this one changed'],
      );
      assert.equal(res.hasMore, false);
      await reader.close();
      await owner.client.close();
    });
  });
}

/** Every entry a device gets syncing from an empty sync_key, page by page. */
async function syncFromScratch(client: ImClient): Promise<Message[]> {
  const all: Message[] = [];
  let key = '';
  for (let page = 0; page < 20; page++) {
    const res = await client.getDiff(key, 500);
    all.push(...res.messages);
    key = res.syncKey;
    if (!res.hasMore) return all;
  }
  throw new Error('sync did not end within 20 pages');
}

/** The client_msg_id of the message an entry is, or changes (none for a read marker). */
function subjectOf(m: Message): string | undefined {
  const op = m.op?.kind;
  if (!op) return m.clientMsgId;
  return op.$case === 'read' || op.$case === 'mute' ? undefined : op.value.clientMsgId;
}

/** What a chat screen shows after applying edits and recalls in stream order. */
function finalView(messages: Message[]): string[] {
  const shown = new Map<string, string>();
  for (const m of messages) {
    const op = m.op?.kind;
    const key = (ref: { fromDevice: string; clientMsgId: string }) => `${ref.fromDevice}/${ref.clientMsgId}`;
    if (!op) shown.set(key(m), Buffer.from(m.body).toString());
    else if (op.$case === 'edit') shown.set(key(op.value), Buffer.from(m.body).toString());
    else if (op.$case === 'recall') shown.delete(key(op.value));
  }
  return [...shown.values()];
}
