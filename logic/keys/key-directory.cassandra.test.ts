import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { connectCassandra, type Client } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraKeyDirectory } from './key-directory.cassandra.ts';
import { keyDirectoryContract } from './key-directory.contract.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. Users are fresh per run.
const connect = async (): Promise<Client> =>
  connectCassandra((await engines('cassandra')).cassandra, { migrate: true });

keyDirectoryContract('cassandra', async () => {
  const client = await connect();
  return { store: new CassandraKeyDirectory(client), close: () => client.shutdown() };
});

describe('CassandraKeyDirectory', () => {
  it('never hands one one-time key to two processes claiming at once', async () => {
    // Two clients, as two logic processes: claims of one device are serialized in a process, not between them.
    const clients = [await connect(), await connect()];
    try {
      const [a, b] = clients.map((c) => new CassandraKeyDirectory(c)) as [CassandraKeyDirectory, CassandraKeyDirectory];
      const user = `race-${randomUUID().slice(0, 8)}`;
      const bytes = (n: number) => new Uint8Array(randomBytes(n));
      const signed = (id: number) => ({ id, publicKey: bytes(32), signature: bytes(64) });
      const keys = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, publicKey: bytes(32) }));
      await a.replace(user, 'phone', { identityKey: bytes(32), signedPrekey: signed(1), fallbackKey: signed(2) }, keys);
      const claims = await Promise.all(Array.from({ length: 14 }, (_, i) => (i % 2 ? a : b).claim(user, 'phone')));
      const ids = claims.flatMap((c) => (c && 'oneTimeKey' in c ? [c.oneTimeKey.id] : []));
      assert.deepEqual(
        ids.sort((x, y) => x - y),
        keys.map((k) => k.id),
      );
      const fallbacks = claims.flatMap((c) => (c && 'fallbackClaims' in c ? [c.fallbackClaims] : []));
      assert.deepEqual(
        fallbacks.sort((x, y) => x - y),
        [1, 2],
      );
    } finally {
      await Promise.all(clients.map((c) => c.shutdown()));
    }
  });
});
