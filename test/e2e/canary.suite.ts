import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryE2eStore, type ChatMessage, type ImClient } from '../../client/sdk.ts';
import { startPushProviders, type MobileSettings, type PushProviders } from '../fakes/push-providers.ts';
import { CanaryLedger, canaryWords, controlWord } from './canary.ts';
import { connect, eventually, eventuallyAsync, sleep, type Target, type TestClient } from './harness.ts';

/** Places every target scans. */
export const PUSHES = 'requests to APNs and FCM';
export const SEARCH_API = 'search API';

/** A server under test, and the places it keeps or emits text, each scanned into the ledger by its name. */
export type CanaryTarget = Target & {
  /** While it runs: its stores and what it serves (/metrics). */
  scanRunning(ledger: CanaryLedger): Promise<void>;
  /** Once closed: what it wrote until the end (its log lines, the data directory at rest). */
  scanStopped(ledger: CanaryLedger): Promise<void>;
};

const TOPIC = 'com.example.chat';
const textOf = (m: ChatMessage) => Buffer.from(m.body).toString();
const shows = (d: TestClient, text: string) => d.messages.some((m) => !m.op && textOf(m) === text);
const showsEdit = (d: TestClient, text: string) =>
  d.messages.some((m) => m.op?.kind?.$case === 'edit' && textOf(m) === text);

/**
 * The canary test (issue 24): unique words sent only in end-to-end encrypted conversations (a 1:1 between two users
 * with two devices each, both ways, an edit, a small group) while phones that registered for push are away, and one
 * control word sent in the clear. Then every place the target names is scanned: no canary anywhere, and the control
 * word in each place `controlIn` names (a scan that looks nowhere would find nothing either).
 */
export function canarySuite(
  label: string,
  setup: (settings: MobileSettings) => Promise<CanaryTarget>,
  controlIn: readonly string[],
): void {
  describe(`canary words of encrypted conversations (${label})`, () => {
    const run = Date.now().toString(16);
    const u = (name: string) => `canary-${name}-${run}`;
    const [alice, bob, carol, dave, erin] = ['alice', 'bob', 'carol', 'dave', 'erin'].map(u) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const words = canaryWords();
    const [w0, w1, w2, w3, w4, w5] = words as [string, string, string, string, string, string];
    const control = controlWord();
    const ledger = new CanaryLedger(words, control);
    const bodies: { provider: string; body: Buffer }[] = [];
    const tokens = { bob: `${run}b0b`.padStart(64, 'a'), erin: `${run}e`.padStart(64, 'e'), carol: `fcm-${run}-carol` };
    let providers: PushProviders | undefined;
    let server: CanaryTarget;
    const clients: TestClient[] = [];
    let serving = false;

    const device = async (user: string, name: string, encrypted = true) => {
      const options = encrypted ? { e2e: { store: new MemoryE2eStore(), deviceListTtlMs: 0 } } : {};
      const d = await connect(server, user, name, options);
      clients.push(d);
      return d;
    };
    /** A phone that registers for push and goes away: what reaches it from now on goes through APNs or FCM. */
    const pocketPhone = async (user: string, registration: Parameters<ImClient['registerPush']>[0]) => {
      const phone = await device(user, 'phone');
      await phone.client.registerPush(registration);
      await phone.client.close();
    };
    /** Once: the clients, the server (if it started) and the providers, so that all it wrote can be scanned. */
    const closeAll = async () => {
      for (const c of clients.splice(0)) await c.client.close();
      if (serving) await server.close();
      serving = false;
      await providers?.close();
      providers = undefined;
    };

    before(async () => {
      providers = await startPushProviders({ onBody: (body, provider) => bodies.push({ provider, body }) });
      server = await setup({ ...providers.settings, pushCoalesceWindowMs: 300, smallGroupMaxMembers: 20 });
      serving = true;
    });
    after(closeAll);

    it('sends the canary words encrypted only: 1:1 both ways on two devices each, an edit, a small group', async () => {
      await pocketPhone(bob, { platform: 'apns', token: tokens.bob, topic: TOPIC, previews: true });
      await pocketPhone(carol, { platform: 'fcm', token: tokens.carol, previews: true });
      await pocketPhone(erin, { platform: 'apns', token: tokens.erin, topic: TOPIC, previews: true });
      const [a1, a2, b1, b2, c1] = await Promise.all([
        device(alice, 'a1'),
        device(alice, 'a2'),
        device(bob, 'b1'),
        device(bob, 'b2'),
        device(carol, 'c1'),
      ]);

      const first = `meet me at the ${w0} tonight`;
      const sent = await a1.client.send({ user: bob }, { text: first }, undefined, { encrypted: true });
      for (const d of [a2, b1, b2]) await eventually(() => shows(d, first), 'the first message on every device');
      assert.ok(b1.messages.find((m) => m.serverMsgId === sent.serverMsgId)?.encryption?.opened, 'sent encrypted');
      const reply = `the password is ${w1}`;
      await b2.client.send({ user: alice }, { text: reply });
      for (const d of [a1, a2, b1]) await eventually(() => shows(d, reply), 'the reply on every device');
      const edited = `meet me at the ${w2} instead`;
      await a1.client.edit(
        b1.messages.find((m) => m.serverMsgId === sent.serverMsgId)!,
        edited,
      );
      for (const d of [a2, b1, b2]) await eventually(() => showsEdit(d, edited), 'the edit on every device');
      const more = `${w3} ${w4} ${w5}`;
      await a2.client.send({ user: bob }, { text: more });
      await eventually(() => shows(b1, more), 'the multi-byte words');

      const group = await a1.client.createGroup('book club', [bob, carol]);
      const toGroup = `for the club: ${w4} and ${w5}`;
      await a1.client.send({ group: group.groupId }, { text: toGroup }, undefined, { encrypted: true });
      for (const d of [a2, b1, b2, c1]) await eventually(() => shows(d, toGroup), 'the group message on every device');
      assert.ok(
        [b1, c1].every((d) => d.messages.find((m) => textOf(m) === toGroup)?.encryption?.opened),
        'the group message is encrypted',
      );

      const d1 = await device(dave, 'd1', false);
      await d1.client.send({ user: erin }, { text: `the control word is ${control}` });
      await eventuallyAsync(
        async () => (await d1.client.search({ text: control })).hits.length > 0,
        'the control word searchable',
        30_000,
      );
      const { apns, fcm } = providers!;
      await eventually(() => apns.accepted.some((p) => p.token === tokens.erin), 'the control push', 30_000);
      await eventually(() => apns.accepted.some((p) => p.token === tokens.bob), "the push to bob's phone", 30_000);
      await eventually(() => fcm.accepted.some((m) => m.token === tokens.carol), "the push to carol's phone", 30_000);
      const alert = apns.accepted.find((p) => p.token === tokens.bob)?.payload.aps.alert;
      assert.deepEqual(
        alert,
        { title: '', body: 'New message' },
        'a generic text, never a preview, though previews are on',
      );
      // What was handed on late (push updates after the coalescing window, search of the other partitions) lands.
      await sleep(1_500);
    });

    it('finds no canary word in any store, log line, push, metric or search; the control word where it is kept', async (t) => {
      for (const word of [...words, control]) {
        for (const d of clients.filter((c) => c.client.connected)) {
          const { hits } = await d.client.search({ text: word });
          ledger.checkQuery(SEARCH_API, word, hits.length, `${d.client.auth?.user}/${d.client.auth?.device}`);
        }
      }
      await server.scanRunning(ledger);
      await closeAll();
      for (const [i, { provider, body }] of bodies.entries()) ledger.check(PUSHES, body, `${provider} request ${i}`);
      await server.scanStopped(ledger);
      t.diagnostic(`canary words ${JSON.stringify(words)}, control ${control}`);
      for (const line of ledger.report()) t.diagnostic(line);
      ledger.assertNoCanary();
      ledger.assertControlIn([PUSHES, SEARCH_API, ...controlIn]);
    });
  });
}
