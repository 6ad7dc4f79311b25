import { randomUUID } from 'node:crypto';
import { connectCassandra } from '../lib/cassandra.ts';
import { engines } from '../test/engines.ts';
import { CassandraSeqTermStore } from './seq-term-store.cassandra.ts';
import { seqTermStoreContract } from './seq-term-store.contract.ts';

// Real Cassandra, never skipped. Each run uses its own row, so it never moves the term anyone else relies on.
seqTermStoreContract('cassandra', async () => {
  const client = await connectCassandra((await engines('cassandra')).cassandra, { migrate: true });
  const name = `test-${randomUUID()}`;
  return { open: () => new CassandraSeqTermStore(client, { name }), close: () => client.shutdown() };
});
