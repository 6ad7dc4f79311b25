import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from '../../app/cluster.ts';
import { CHAT_SUITE_ENV, chatSuite } from './chat.suite.ts';
import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { connect, eventually, eventuallyAsync, type Target } from './harness.ts';
import { RawSocket } from './raw-socket.ts';

chatSuite('cluster: a process per service, devices over 2 gateways', async () =>
  clusterTarget(await startTestCluster(CHAT_SUITE_ENV)),
);

describe('cluster mode specifics', () => {
  let cluster: Cluster;
  const run = Date.now().toString(36);
  before(async () => {
    cluster = await startTestCluster({
      IM_ROUTE_TTL_MS: '3000',
      IM_REGISTRY_HEARTBEAT_MS: '1000',
      IM_AUTH_REVOCATIONS_REFRESH_MS: '300',
    });
  });
  after(() => cluster.close());

  const on = (gateway: number): Target => ({ ...clusterTarget(cluster), urlFor: () => cluster.gateways[gateway]!.url });

  it('refuses a revoked device on every gateway soon after the operator revokes it through logic', async () => {
    const token = cluster.token(`lost-${run}`, 'phone');
    const connects = (gateway: number) =>
      RawSocket.open(cluster.gateways[gateway]!.url, token).then(
        (s) => (s.ws.close(), 'accepted'),
        (err: { status: number }) => String(err.status),
      );
    assert.deepEqual([await connects(0), await connects(1)], ['accepted', 'accepted']);
    const open = await RawSocket.open(cluster.gateways[1]!.url, token);
    const cut = new Promise<number>((resolve) => open.ws.once('close', (code) => resolve(code)));
    const res = await fetch(`${cluster.noticeUrl}/v1/admin/auth/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: `lost-${run}`, device: 'phone' }),
    });
    assert.equal(res.status, 200);
    // Cut first, probed after: a probe on gateway 1 before it hears of the revocation would replace the held
    // connection (4009) instead.
    const inTime = await Promise.race([
      cut,
      new Promise<string>((r) => setTimeout(() => r('not cut in 10 s'), 10_000)),
    ]);
    assert.equal(inTime, 4001, 'the connection it held was cut');
    await eventuallyAsync(
      async () => (await connects(0)) === '401' && (await connects(1)) === '401',
      'refused on both gateways',
    );
  });

  it('delivers to one user’s two devices on different gateways, and to the sender’s device on the other', async () => {
    const [alice, bob] = [`alice-${run}`, `bob-${run}`];
    const aliceLaptop = await connect(on(0), alice, 'laptop');
    const alicePhone = await connect(on(1), alice, 'phone');
    const bobPhone = await connect(on(0), bob, 'phone');
    const bobPc = await connect(on(1), bob, 'pc');
    await aliceLaptop.client.send({ user: bob }, { text: 'across gateways' });
    await eventually(
      () => bobPhone.messages.length === 1 && bobPc.messages.length === 1 && alicePhone.messages.length === 1,
      'every device on either gateway',
    );
    assert.deepEqual([bobPhone.texts(), bobPc.texts(), alicePhone.texts()], Array(3).fill(['across gateways']));
    for (const c of [aliceLaptop, alicePhone, bobPhone, bobPc]) await c.client.close();
  });

  it('keeps working when a gateway dies: its clients reconnect elsewhere and miss nothing', async () => {
    const [carol, dave] = [`carol-${run}`, `dave-${run}`];
    const sender = await connect(on(0), carol, 'pc');
    // dave's client picks a gateway at each connect, the way an app asks a directory: gateway-2 first, then gateway-1.
    let connects = 0;
    const urls = [cluster.gateways[1]!.url, cluster.gateways[0]!.url];
    const dying = await connect(on(1), dave, 'phone', { url: () => urls[Math.min(connects++, 1)]! });
    await sender.client.send({ user: dave }, { text: 'before' });
    await eventually(() => dying.messages.length === 1, 'first message');
    await cluster.kill('gateway-2');
    await sender.client.send({ user: dave }, { text: 'while down' });
    await sender.client.send({ user: dave }, { text: 'after' });
    await eventually(() => dying.messages.length === 3, 'dave reconnects through gateway-1 and syncs', 30_000);
    assert.deepEqual(dying.texts(), ['before', 'while down', 'after']);
    await cluster.start('gateway-2');
    await sender.client.close();
    await dying.client.close();
  });
});
