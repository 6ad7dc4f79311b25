import assert from 'node:assert/strict';
import { test } from 'node:test';
import { E2eEnvelope } from '../../proto/gen/im/v1/e2e.pb.ts';
import { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { dmConversation } from '../../lib/conversation.ts';
import { sealed, testDevice, textOf, TestDirectory, type TestDevice } from './e2e.fixture.ts';
import { E2eError } from './e2e-error.ts';
import { MemoryE2eStore } from './state.ts';

const DM = dmConversation('alice', 'bob');

function refused(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof E2eError && err.code === code);
}

async function fourDevices(): Promise<{
  dir: TestDirectory;
  a1: TestDevice;
  a2: TestDevice;
  b1: TestDevice;
  b2: TestDevice;
}> {
  const dir = new TestDirectory();
  const [a1, a2, b1, b2] = await Promise.all([
    testDevice(dir, 'alice', 'a1'),
    testDevice(dir, 'alice', 'a2'),
    testDevice(dir, 'bob', 'b1'),
    testDevice(dir, 'bob', 'b2'),
  ]);
  return { dir, a1: a1, a2: a2, b1: b1, b2: b2 };
}

test('two users with two devices each: every message opens on all four devices, both ways, in any order', async () => {
  const { a1, a2, b1, b2 } = await fourDevices();
  const all = [a1, a2, b1, b2];
  const sent: { m: Message; text: string }[] = [];
  for (let i = 0; i < 12; i++) {
    const from = all[i % 4]!;
    const text = `message ${i} from ${from.device}`;
    sent.push({ m: await sealed(from, DM, ['alice', 'bob'], text), text });
  }
  // Each device reads them in its own order (late and early deliveries mixed), the sender's own from memory.
  for (const [k, reader] of all.entries()) {
    const order = k % 2 === 0 ? [...sent].reverse() : [...sent.slice(6), ...sent.slice(0, 6)];
    for (const { m, text } of order) assert.equal(textOf(reader, m), text, `${reader.device} reads ${text}`);
  }
});

test('a tampered, replayed or misaddressed ciphertext is refused, and the session still works afterwards', async () => {
  const { a1, b1, b2 } = await fourDevices();
  const m = await sealed(a1, DM, ['alice', 'bob'], 'hello');
  const envelope = E2eEnvelope.decode(m.body);
  const mine = envelope.devices.find((d) => d.device === 'b1')!;
  const flipped = Buffer.from(mine.ciphertext);
  flipped[flipped.length - 1]! ^= 1;
  const tampered = { ...envelope, devices: [{ ...mine, ciphertext: flipped }] };
  refused(() => b1.e2e.open({ ...m, body: Buffer.from(E2eEnvelope.encode(tampered).finish()) }), 'E2E_REFUSED');
  // b1's ciphertext relabelled for b2: its associated data names b1.
  const moved = { ...envelope, devices: [{ ...mine, device: 'b2' }] };
  refused(() => b2.e2e.open({ ...m, body: Buffer.from(E2eEnvelope.encode(moved).finish()) }), 'E2E_REFUSED');
  // The same ciphertext in another conversation, or claimed by another message id: refused.
  refused(() => b1.e2e.open({ ...m, conversation: dmConversation('bob', 'carol') }), 'E2E_REFUSED');
  refused(() => b1.e2e.open({ ...m, clientMsgId: 'other' }), 'E2E_REFUSED');
  assert.equal(textOf(b1, m), 'hello');
  // Delivered again (a sync after a push) it shows; replayed as a new message it does not.
  assert.equal(textOf(b1, m), 'hello');
  refused(() => b1.e2e.open({ ...m, serverMsgId: 'replayed' }), 'E2E_REPLAYED');
  const b1Only = { ...envelope, devices: envelope.devices.filter((d) => d.device === 'b1') };
  refused(
    () => b2.e2e.open({ ...m, body: Buffer.from(E2eEnvelope.encode(b1Only).finish()) }),
    'E2E_NOT_FOR_THIS_DEVICE',
  );
  refused(() => b1.e2e.open({ ...m, serverMsgId: 'x', clientMsgId: 'y', body: Buffer.from('junk') }), 'E2E_MALFORMED');
  assert.equal(textOf(a1, await sealed(b1, DM, ['alice', 'bob'], 'reply')), 'reply');
});

test('one-time keys run out: the signed fallback key still starts sessions, and the device replaces it', async () => {
  const dir = new TestDirectory();
  const bob = await testDevice(dir, 'bob', 'b1');
  const senders: TestDevice[] = [];
  for (let i = 0; i < 52; i++) senders.push(await testDevice(dir, `user${i}`, 'd'));
  const fallbackBefore = (await dir.published('bob', 'b1'))!.fallbackKey.id;
  const messages = [];
  for (const s of senders)
    messages.push({ s, m: await sealed(s, dmConversation(s.user, 'bob'), [s.user, 'bob'], `hi from ${s.user}`) });
  assert.equal(
    await dir.store.claim('bob', 'b1').then((c) => c && 'fallbackKey' in c && c.fallbackClaims),
    3,
    'two senders got the fallback key',
  );
  for (const { s, m } of messages) assert.equal(textOf(bob, m), `hi from ${s.user}`);
  const status = await bob.e2e.publish(bob.directory);
  assert.notEqual(
    (await dir.published('bob', 'b1'))!.fallbackKey.id,
    fallbackBefore,
    'a used fallback key is replaced',
  );
  assert.equal(status.fallbackClaims, 0);
  assert.equal(status.oneTimeKeys, 50);
});

test('a device whose identity changes is announced, with a new safety number both sides agree on', async () => {
  const { dir, a1, b1 } = await fourDevices();
  const before = await a1.e2e.safetyNumber(a1.directory, 'bob');
  assert.equal(before, await b1.e2e.safetyNumber(b1.directory, 'alice'));
  assert.match(before, /^(\d{5} ){11}\d{5}$/);
  textOf(b1, await sealed(a1, DM, ['alice', 'bob'], 'first'));
  const changes: string[] = [];
  a1.e2e.on('identityChanged', (c) => changes.push(`${c.user}/${c.device} ${c.safetyNumber}`));
  const reset = await testDevice(dir, 'bob', 'b1', new MemoryE2eStore());
  const m = await sealed(a1, DM, ['alice', 'bob'], 'after reset');
  assert.equal(changes.length, 1);
  assert.ok(changes[0]!.startsWith('bob/b1 '));
  assert.notEqual(changes[0]!.slice(7), before);
  assert.equal(textOf(reset, m), 'after reset');
  assert.equal(await a1.e2e.safetyNumber(a1.directory, 'bob'), await reset.e2e.safetyNumber(reset.directory, 'alice'));
});

test('groups use sender keys; a removed member cannot read what follows', async () => {
  const dir = new TestDirectory();
  const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map((u) => testDevice(dir, u, 'd1')));
  const members = ['alice', 'bob', 'carol'];
  const g = 'group:g1';
  const first = await sealed(a!, g, members, 'to all three');
  assert.equal(E2eEnvelope.decode(first.body).devices.length, 2, 'the sender key goes to the other two devices');
  const second = await sealed(a!, g, members, 'second');
  assert.equal(E2eEnvelope.decode(second.body).devices.length, 0, 'then messages carry no pairwise part');
  assert.equal(textOf(b!, first), 'to all three');
  assert.equal(textOf(c!, first), 'to all three');
  // Out of order within the chain: the third before the second.
  const third = await sealed(a!, g, members, 'third');
  assert.equal(textOf(b!, third), 'third');
  assert.equal(textOf(b!, second), 'second');
  assert.equal(textOf(c!, second), 'second');
  const afterRemoval = await sealed(a!, g, ['alice', 'bob'], 'carol is gone');
  assert.equal(textOf(b!, afterRemoval), 'carol is gone');
  const rekeyed = E2eEnvelope.decode(afterRemoval.body);
  assert.notEqual(rekeyed.group!.keyId, E2eEnvelope.decode(first.body).group!.keyId, 'a new sender key');
  assert.deepEqual(
    rekeyed.devices.map((d) => d.user),
    ['bob'],
    'handed to the members left only',
  );
  refused(() => c!.e2e.open(afterRemoval), 'E2E_NO_SESSION');
  // A forged group message (signature by someone else) is refused.
  const forged = E2eEnvelope.decode(second.body);
  forged.group!.signature = Buffer.alloc(64, 1);
  refused(
    () =>
      b!.e2e.open({
        ...second,
        serverMsgId: 'f',
        clientMsgId: 'f',
        body: Buffer.from(E2eEnvelope.encode(forged).finish()),
      }),
    'E2E_BAD_SIGNATURE',
  );
});

test('state saved by a store survives a restart of the device', async () => {
  const dir = new TestDirectory();
  const store = new MemoryE2eStore();
  const a = await testDevice(dir, 'alice', 'a1');
  let b = await testDevice(dir, 'bob', 'b1', store);
  assert.equal(textOf(b, await sealed(a, DM, ['alice', 'bob'], 'one')), 'one');
  await b.e2e.save();
  b = await testDevice(dir, 'bob', 'b1', store);
  assert.equal(textOf(b, await sealed(a, DM, ['alice', 'bob'], 'two')), 'two');
  assert.equal(textOf(a, await sealed(b, DM, ['alice', 'bob'], 'three')), 'three');
});
