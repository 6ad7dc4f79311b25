import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { OperatorClient } from '../../client/notice-api.ts';
import type { Cluster } from '../../app/cluster.ts';
import { searchIndexGroup } from '../../app/cluster/search.ts';
import { dmConversation } from '../../lib/conversation.ts';
import { topics } from '../../lib/topics.ts';
import { messagesAlias } from '../../search/index.ts';
import { engines } from '../engines.ts';
import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { connect } from './harness.ts';
import { eventuallyFinds, found, searchSuite, u, type SearchTarget } from './search.suite.ts';

// One cluster for the suite and the replay test; its own index prefix (template, months, alias, consumer group),
// dropped at the end.
const prefix = `im-test-${Date.now().toString(36)}`;
let cluster: Cluster | undefined;
const shared = async (): Promise<Cluster> => (cluster ??= await startTestCluster({ IM_SEARCH_INDEX_PREFIX: prefix }));

searchSuite('cluster: a search process on Elasticsearch, devices over 2 gateways', async (): Promise<SearchTarget> => {
  const c = await shared();
  return {
    ...clusterTarget(c),
    httpUrl: c.gateways[0]!.url.replace(/^ws/, 'http'),
    noticeUrl: c.noticeUrl,
    operatorToken: c.operatorToken,
    // Closed with the replay test below.
    close: () => Promise.resolve(),
  };
});

describe('search indexing replayed (cluster)', () => {
  let c: Cluster;
  before(async () => {
    c = await shared();
  });
  after(async () => {
    await cluster?.close();
    const es = new Client({ node: (await engines('elasticsearch')).elasticsearch.node });
    await es.indices.delete({ index: `${messagesAlias({ prefix })}-*` }).catch(() => undefined);
    await es.indices.deleteIndexTemplate({ name: messagesAlias({ prefix }) }).catch(() => undefined);
    await es.close();
  });

  it('indexes what was sent while it was down, and a replay of everything since creates no duplicate', async () => {
    const target = clusterTarget(c);
    const [alice, bob] = [u('rp-alice'), u('rp-bob')];
    const a = await connect(target, alice, 'laptop');
    const b = await connect(target, bob, 'phone');
    const since = Date.now() - 1_000;
    await a.client.send({ user: bob }, { text: 'replay marmot one' }, 'r1');
    await a.client.send({ user: bob }, { text: 'replay marmot two' }, 'r2');
    const conversation = dmConversation(alice, bob);
    await a.client.edit({ conversation, fromDevice: 'laptop', clientMsgId: 'r1' }, 'replay quokka one');
    await a.client.recall({ conversation, fromDevice: 'laptop', clientMsgId: 'r2' });
    await eventuallyFinds(b.client, 'quokka', 1);
    await eventuallyFinds(b.client, 'marmot', 0);

    // Stopped (it leaves the consumer group), a send is still acknowledged; then the group is set back to before
    // the first send, so the restarted process indexes every record of this test again.
    await c.kill('search', 'SIGTERM');
    await a.client.send({ user: bob }, { text: 'replay ibex while down' }, 'r3');
    await rewindSearchGroup(since);
    await c.start('search');

    await eventuallyFinds(b.client, 'ibex', 1);
    await eventuallyFinds(b.client, 'replay', 2);
    assert.deepEqual(await found(b.client, { text: 'marmot' }), [], 'the recalled message stays deleted');
    assert.equal((await found(b.client, { text: 'quokka' })).length, 1, 'the edit stays, once');
    assert.equal((await found(a.client, { text: 'replay' })).length, 2, 'the sender sees each message once');
    await a.client.close();
    await b.client.close();
  });

  it("rebuilds from Cassandra's inboxes through the operator API (imctl search reindex), changing nothing found", async () => {
    const target = clusterTarget(c);
    const bob = await connect(target, u('rp-bob'), 'tablet');
    const before = await found(bob.client, { text: 'replay' });
    const operator = new OperatorClient({ baseUrl: c.noticeUrl, token: c.operatorToken });
    const started = await operator.startSearchReindex();
    assert.equal(started.started, true);
    let status = await operator.searchReindexStatus();
    for (let i = 0; status.state === 'running' && i < 600; i++) {
      await sleep(100);
      status = await operator.searchReindexStatus();
    }
    assert.equal(status.state, 'done', JSON.stringify(status));
    assert.ok(status.scanned >= 6, `scanned ${status.scanned}`);
    await eventuallyFinds(bob.client, 'replay', before.length);
    assert.deepEqual((await found(bob.client, { text: 'replay' })).sort(), before.sort());
    assert.deepEqual(await found(bob.client, { text: 'marmot' }), []);
    await bob.client.close();
  });
});

/** Sets the search group's offsets on search_input to the first record at or after `sinceMs` (the group is empty). */
async function rewindSearchGroup(sinceMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'search-replay-test',
    brokers: (await engines('kafka')).kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = topics.searchInput.name;
    const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
    await admin.setOffsets({
      groupId: searchIndexGroup(prefix),
      topic,
      partitions: offsets.map(({ partition, offset }) => ({ partition, offset })),
    });
  } finally {
    await admin.disconnect();
  }
}
