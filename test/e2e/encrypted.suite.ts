import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { E2eEnvelope } from '../../proto/gen/im/v1/e2e.pb.ts';
import { E2eError, MemoryE2eStore, type ChatMessage, type IdentityChange, type ImClient } from '../../client/sdk.ts';
import { dmConversation, groupConversation } from '../../lib/conversation.ts';
import { E2E_CONTENT_TYPE } from '../../lib/e2e-keys.ts';
import { connect, eventually, type Target, type TestClient } from './harness.ts';

const run = Date.now().toString(36);
const u = (name: string) => `${name}-${run}`;

/** A device of the suite: its client, what it showed, and its key store (kept across reconnects). */
interface Device extends TestClient {
  store: MemoryE2eStore;
}

const textOf = (m: ChatMessage) => Buffer.from(m.body).toString();
const shows = (d: TestClient, text: string) => d.messages.some((m) => !m.op && textOf(m) === text);

async function device(server: Target, user: string, name: string, store = new MemoryE2eStore()): Promise<Device> {
  return Object.assign(await connect(server, user, name, { e2e: { store, deviceListTtlMs: 0 } }), { store });
}

/** What the server stored for `reader`: every entry of their inbox, as GetDiff gives it (no decryption). */
async function stored(reader: ImClient): Promise<ChatMessage[]> {
  const page = await reader.getDiff('', 500);
  return page.messages;
}

/**
 * End-to-end encrypted conversations through a real server (issue 24): two users with two devices each, both ways,
 * after reconnects; edits, recalls, unread counts and groups as for any message; the server holds ciphertext only.
 */
export function encryptedSuite(name: string, start: () => Promise<Target>): void {
  describe(`end-to-end encrypted conversations (${name})`, () => {
    let server: Target;
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map(u) as [string, string, string];
    const dm = dmConversation(alice, bob);
    let a1: Device, a2: Device, b1: Device, b2: Device;

    before(async () => {
      server = await start();
      [a1, a2, b1, b2] = await Promise.all([
        device(server, alice, 'a1'),
        device(server, alice, 'a2'),
        device(server, bob, 'b1'),
        device(server, bob, 'b2'),
      ]);
    });
    after(async () => {
      for (const d of [a1, a2, b1, b2]) await d.client.close();
      await server.close();
    });

    it('a message started encrypted opens on all four devices, and the reply is encrypted without asking', async () => {
      const sent = await a1.client.send({ user: bob }, { text: 'first secret' }, undefined, { encrypted: true });
      for (const d of [a1, a2, b1, b2])
        await eventually(() => shows(d, 'first secret'), `${d.client.auth?.device} shows it`);
      assert.ok(b1.messages.find((m) => m.serverMsgId === sent.serverMsgId)?.encryption?.opened);
      assert.equal(b2.client.isEncrypted(dm), true, 'the conversation stays encrypted on every device that saw it');
      await b2.client.send({ user: alice }, { text: 'secret reply' });
      for (const d of [a1, a2, b1, b2]) await eventually(() => shows(d, 'secret reply'), 'the reply');
      const inbox = await stored(a2.client);
      const entries = inbox.filter((m) => m.conversation === dm && !m.op);
      assert.equal(entries.length, 2);
      for (const m of entries) {
        assert.equal(m.contentType, E2E_CONTENT_TYPE);
        assert.ok(!Buffer.from(m.body).toString('latin1').includes('secret'), 'the server holds ciphertext only');
        const envelope = E2eEnvelope.decode(m.body);
        assert.equal(envelope.devices.length, 3, 'one ciphertext per other device');
      }
      await assert.rejects(
        a1.client.send({ user: bob }, { text: 'in the clear' }, undefined, { encrypted: false }),
        (err: unknown) => err instanceof E2eError && err.code === 'E2E_UNSUPPORTED',
      );
    });

    it('a ciphertext sent again by another device, or under another id, is shown refused and never opened', async () => {
      const sent = await a1.client.send({ user: bob }, { text: 'only once' });
      await eventually(() => shows(b1, 'only once'), 'the original');
      const original = (await stored(b1.client)).find((m) => m.serverMsgId === sent.serverMsgId)!;
      // Another device of alice's (without end-to-end keys) replays the stored envelope as a new message.
      const replayer = await connect(server, alice, 'a3', { e2e: false });
      try {
        const copy = await replayer.client.send(
          { user: bob },
          { body: original.body, contentType: E2E_CONTENT_TYPE },
          original.clientMsgId,
        );
        await eventually(() => b1.messages.some((m) => m.serverMsgId === copy.serverMsgId), 'the copy arrives');
        const shown = b1.messages.find((m) => m.serverMsgId === copy.serverMsgId)!;
        assert.equal(shown.encryption?.opened, false);
        assert.match(
          shown.encryption.opened === false ? shown.encryption.code : '',
          /^E2E_(REFUSED|NO_SESSION|NOT_FOR_THIS_DEVICE)$/,
        );
        assert.equal(shown.contentType, E2E_CONTENT_TYPE, 'a refused entry keeps its ciphertext, never shown as text');
      } finally {
        await replayer.client.close();
      }
    });

    it('unread counts, read markers, edits and recalls work on encrypted messages; the edit is encrypted too', async () => {
      const before = b1.client.unread.get(dm) ?? 0;
      const sent = await a1.client.send({ user: bob }, { text: 'to be edited' });
      await eventually(() => shows(b1, 'to be edited'), 'the message');
      await eventually(() => (b1.client.unread.get(dm) ?? 0) === before + 1, 'one more unread');
      const original = b1.messages.find((m) => m.serverMsgId === sent.serverMsgId)!;
      await a1.client.edit(original, 'edited in secret');
      await eventually(
        () => b2.messages.some((m) => m.op?.kind?.$case === 'edit' && textOf(m) === 'edited in secret'),
        'the edit opens',
      );
      const edit = (await stored(b2.client)).find((m) => m.op?.kind?.$case === 'edit')!;
      assert.equal(edit.contentType, E2E_CONTENT_TYPE);
      assert.ok(!Buffer.from(edit.body).toString('latin1').includes('edited'));
      await a1.client.recall(original);
      await eventually(() => b1.messages.some((m) => m.op?.kind?.$case === 'recall'), 'the recall');
      await b1.client.markRead(dm, Math.max(...b1.messages.filter((m) => m.conversation === dm).map((m) => m.seq)));
      await eventually(() => (b2.client.unread.get(dm) ?? 0) === 0, 'read on the other device too');
    });

    it('a device that was away opens what it missed after it reconnects, in order', async () => {
      const store = b2.store;
      await b2.client.close();
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++)
        ids.add((await a2.client.send({ user: bob }, { text: `while away ${i}` })).serverMsgId);
      b2 = await device(server, bob, 'b2', store);
      for (let i = 0; i < 5; i++) await eventually(() => shows(b2, `while away ${i}`), `message ${i} after reconnect`);
      const order = b2.messages.filter((m) => textOf(m).startsWith('while away')).map(textOf);
      assert.deepEqual(
        order,
        [0, 1, 2, 3, 4].map((i) => `while away ${i}`),
      );
      const missed = b2.messages.filter((m) => ids.has(m.serverMsgId));
      assert.equal(missed.length, 5);
      assert.ok(
        missed.every((m) => m.encryption?.opened === true),
        'each opened',
      );
    });

    it('a small group uses sender keys, and a member removed cannot read what follows', async () => {
      const c = await device(server, carol, 'c1');
      try {
        const group = await a1.client.createGroup('secret club', [bob, carol]);
        const g = groupConversation(group.groupId);
        await a1.client.send({ group: group.groupId }, { text: 'club news' }, undefined, { encrypted: true });
        for (const d of [a2, b1, b2, c]) await eventually(() => shows(d, 'club news'), 'the group message');
        await a1.client.removeMembers(group.groupId, [carol]);
        await a1.client.send({ group: group.groupId }, { text: 'after carol left' });
        for (const d of [a2, b1, b2]) await eventually(() => shows(d, 'after carol left'), 'the members read on');
        const [first, second] = (await stored(b1.client)).filter((m) => m.conversation === g && !m.op);
        const [k1, k2] = [first!, second!].map((m) => E2eEnvelope.decode(m.body));
        assert.notEqual(k2!.group!.keyId, k1!.group!.keyId, 'a new sender key after a member left');
        assert.ok(!k2!.devices.some((d) => d.user === carol), 'and carol is not handed it');
        assert.ok(!shows(c, 'after carol left'));
      } finally {
        await c.client.close();
      }
    });

    it('a device whose keys change is announced with a new safety number, which both users then agree on', async () => {
      const before = await a1.client.safetyNumber(bob);
      assert.equal(before, await b1.client.safetyNumber(alice));
      const changes: IdentityChange[] = [];
      a1.client.on('identityChanged', (c) => changes.push(c));
      await b1.client.close();
      b1 = await device(server, bob, 'b1', new MemoryE2eStore());
      await a1.client.send({ user: bob }, { text: 'to the new keys' });
      await eventually(() => shows(b1, 'to the new keys'), 'the reset device reads new messages');
      assert.deepEqual(
        changes.map((c) => `${c.user}/${c.device}`),
        [`${bob}/b1`],
      );
      const after = await a1.client.safetyNumber(bob);
      assert.notEqual(after, before);
      assert.equal(after, await b1.client.safetyNumber(alice));
      assert.ok(!shows(b1, 'first secret'), 'a new device does not read history from before it existed');
    });
  });
}
