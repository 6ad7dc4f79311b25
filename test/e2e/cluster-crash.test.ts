import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from '../../app/cluster.ts';
import { ImClient, type SendResult } from '../../client/sdk.ts';
import { restart } from '../../infra/engines.ts';
import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { connect, eventually, type Target } from './harness.ts';

/** Everything a user's inbox holds, read from the start with a fresh key, as server message ids in seq order. */
async function fullSync(target: Target, user: string): Promise<{ ids: string[]; texts: string[] }> {
  const reader = new ImClient({
    url: target.urlFor(user, 'audit'),
    token: target.token(user, 'audit'),
    reconnect: false,
  });
  await reader.connect().catch(() => undefined);
  const ids: string[] = [];
  const texts: string[] = [];
  let key = '';
  for (let page = 0; page < 100; page++) {
    const res = await reader.getDiff(key, 500);
    ids.push(...res.messages.map((m) => m.serverMsgId));
    texts.push(...res.messages.map((m) => Buffer.from(m.body).toString()));
    key = res.syncKey;
    if (!res.hasMore) break;
  }
  await reader.close();
  return { ids, texts };
}

describe('cluster mode survives crashes without losing or duplicating a message', () => {
  let cluster: Cluster;
  let target: Target;
  const run = Date.now().toString(36);
  before(async () => {
    cluster = await startTestCluster();
    target = clusterTarget(cluster);
  });
  after(() => cluster.close());

  it('kill -9 of logic after storing and before committing its offset: no loss, no duplicate', async () => {
    const [alice, bob] = [`alice-k-${run}`, `bob-k-${run}`];
    await cluster.kill('logic');
    await cluster.start('logic', { IM_FAULT_KILL_AFTER_STORED: '3' });
    const sender = await connect(target, alice, 'laptop', { sendRetryMs: 1_000, sendTimeoutMs: 90_000 });
    const recipient = await connect(target, bob, 'phone');
    const sends: Promise<SendResult>[] = [];
    for (let i = 0; i < 6; i++) sends.push(sender.client.send({ user: bob }, { text: `k${i}` }));
    await eventually(() => !cluster.isRunning('logic'), 'logic killed itself after the third stored send', 30_000);
    await cluster.start('logic');
    const results = await Promise.all(sends);
    assert.equal(new Set(results.map((r) => r.serverMsgId)).size, 6);
    await eventually(() => recipient.messages.length >= 6, 'the recipient gets all six', 30_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(recipient.texts(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
    const synced = await fullSync(target, bob);
    assert.deepEqual(synced.texts, ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
    assert.deepEqual(
      synced.ids,
      results.map((r) => r.serverMsgId),
    );
    await sender.client.close();
    await recipient.client.close();
  });

  it('with the offline process down, a device still catches up: sync reads the stores itself (decision 0015)', async () => {
    const [alice, bob] = [`alice-o-${run}`, `bob-o-${run}`];
    const sender = await connect(target, alice, 'laptop');
    for (let i = 0; i < 3; i++) await sender.client.send({ user: bob }, { text: `o${i}` });
    await sender.client.close();
    await cluster.kill('offline');
    try {
      assert.deepEqual((await fullSync(target, bob)).texts, ['o0', 'o1', 'o2']);
    } finally {
      await cluster.start('offline');
    }
  });

  it('restarts of Kafka and of Redis during a bounded send loop: every acknowledged message once, in order', async () => {
    const [alice, bob] = [`alice-r-${run}`, `bob-r-${run}`];
    const sender = await connect(target, alice, 'laptop', { sendRetryMs: 2_000, sendTimeoutMs: 120_000 });
    const count = 60;
    const acknowledged: SendResult[] = [];
    const loop = (async () => {
      for (let i = 0; i < count; i++) acknowledged.push(await sender.client.send({ user: bob }, { text: `r${i}` }));
    })();
    await eventually(() => acknowledged.length >= 10, 'the loop under way', 30_000);
    await restart('kafka');
    await eventually(() => acknowledged.length >= 30, 'sends flow again after Kafka came back', 90_000);
    await restart('redis');
    await loop;
    assert.equal(acknowledged.length, count);
    const expected = Array.from({ length: count }, (_, i) => `r${i}`);
    // Reads hold back briefly after the sequencer rebuilt its counters; then the inbox is whole.
    let synced = await fullSync(target, bob);
    const deadline = Date.now() + 60_000;
    while (synced.texts.length < count && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      synced = await fullSync(target, bob);
    }
    assert.deepEqual(synced.texts, expected);
    assert.deepEqual(
      synced.ids,
      acknowledged.map((r) => r.serverMsgId),
    );
    await sender.client.close();
  });
});
