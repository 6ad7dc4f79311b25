import { randomInt } from 'node:crypto';
import { connectCassandra } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraNoticeStore } from './notice-store.cassandra.ts';
import { noticeStoreContract } from './notice-store.contract.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. The pending set is a partition of this run's
// own (a random shard), so due and expiring see neither other runs' notices nor what earlier runs left.
noticeStoreContract('cassandra', async () => {
  const client = await connectCassandra((await engines('cassandra')).cassandra, { migrate: true });
  return {
    store: new CassandraNoticeStore(client, { shard: randomInt(1, 2 ** 31 - 1) }),
    close: () => client.shutdown(),
  };
});
