import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { newServerMsgId } from '../lib/ids.ts';
import { engines } from '../test/engines.ts';
import { dropMonthsBefore, messagesAlias, monthIndex, putMessagesTemplate, ulidTimeMs } from './es-indices.ts';
import { NO_SCOPES, searchIndexContract } from './search-index.contract.ts';
import { EsSearchIndex } from './search-index.elasticsearch.ts';

// Real Elasticsearch, never skipped. Each run has its own index prefix (its template, months and alias) and
// deletes them after.
const run = randomUUID().slice(0, 8);

async function connect(prefix: string): Promise<Client> {
  const es = new Client({ node: (await engines('elasticsearch')).elasticsearch.node, requestTimeout: 30_000 });
  // One node: no replicas.
  await putMessagesTemplate(es, { prefix }, { replicas: 0 });
  return es;
}

async function dropAll(es: Client, prefix: string): Promise<void> {
  const alias = messagesAlias({ prefix });
  await es.indices.delete({ index: `${alias}-*` }).catch(() => undefined);
  await es.indices.deleteIndexTemplate({ name: alias }).catch(() => undefined);
  await es.close();
}

searchIndexContract('elasticsearch', async () => {
  const prefix = `im-test-${run}`;
  const es = await connect(prefix);
  const index = new EsSearchIndex({ es, prefix });
  return {
    index,
    settle: async () => void (await es.indices.refresh({ index: messagesAlias({ prefix }) })),
    close: () => dropAll(es, prefix),
  };
});

describe('EsSearchIndex', () => {
  const prefix = `im-test-${run}-x`;
  let es: Client;
  before(async () => (es = await connect(prefix)));
  after(() => dropAll(es, prefix));

  it('puts a document in the month of its id, finds it by the alias, and drops old months whole', async () => {
    const index = new EsSearchIndex({ es, prefix });
    const id = newServerMsgId();
    const month = monthIndex({ prefix }, ulidTimeMs(id));
    assert.match(month, new RegExp(`^${prefix}-messages-\\d{4}\\.\\d{2}$`));
    const doc = {
      id,
      conversation: 'dm:a:b',
      kind: 'dm' as const,
      fromUser: 'a',
      sentAtMs: 1,
      text: 'month',
      readers: [{ user: 'b', seq: 1 }],
    };
    await index.apply([{ op: 'upsert', doc }]);
    // An old month, written directly (as if indexed a year ago).
    const old = monthIndex({ prefix }, Date.UTC(2020, 0, 15));
    await es.index({
      index: old,
      id: 'old',
      body: { ...doc, id: 'old', words: 'month', readers: ['b'], inbox: [{ user: 'b', seq: 1 }] },
      refresh: true,
    });
    await es.indices.refresh({ index: messagesAlias({ prefix }) });
    const found = await index.search({ user: 'b', scopes: NO_SCOPES, text: 'month', order: 'newest', limit: 10 });
    assert.deepEqual(found.hits.map((h) => h.id).sort(), [id, 'old'].sort());
    assert.equal((await es.indices.exists({ index: month })).body, true);
    const mapping = (await es.indices.getMapping({ index: month })).body as Record<
      string,
      { mappings: { dynamic: string } }
    >;
    assert.equal(mapping[month]!.mappings.dynamic, 'strict');
    assert.deepEqual(await dropMonthsBefore(es, { prefix }, Date.UTC(2021, 0, 1)), [old]);
    await es.indices.refresh({ index: messagesAlias({ prefix }) });
    const after = await index.search({ user: 'b', scopes: NO_SCOPES, text: 'month', order: 'newest', limit: 10 });
    assert.deepEqual(
      after.hits.map((h) => h.id),
      [id],
    );
  });

  it('makes a write searchable within 2 s without a refresh per document', async () => {
    const index = new EsSearchIndex({ es, prefix });
    const doc = {
      id: newServerMsgId(),
      conversation: 'dm:a:c',
      kind: 'dm' as const,
      fromUser: 'a',
      sentAtMs: 2,
      text: 'freshness probe',
      readers: [{ user: 'c', seq: 1 }],
    };
    const start = performance.now();
    await index.apply([{ op: 'upsert', doc }]);
    for (;;) {
      const page = await index.search({ user: 'c', scopes: NO_SCOPES, text: 'freshness', order: 'newest', limit: 1 });
      if (page.hits.length === 1) break;
      assert.ok(performance.now() - start < 2_000, 'not searchable within 2 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
});
