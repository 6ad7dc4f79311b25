import { connectCassandra } from '../../lib/cassandra.ts';
import { endpoints } from '../../infra/engines.ts';

/** Requests per table, `read <table>` and `write <table>`, as Cassandra's coordinator counted them since it started. */
export type CassandraRequests = Record<string, number>;

/**
 * Cassandra's own request counters for one keyspace (the virtual tables `system_views.coordinator_read_latency`
 * and `coordinator_write_latency`, Cassandra 4.1+). Read before and after a step, they say which tables the step's
 * Cassandra CPU went to, whatever process sent the requests.
 */
export async function cassandraRequests(keyspace = 'im'): Promise<CassandraRequests> {
  const client = await connectCassandra(endpoints.cassandra, { keyspace: 'system_views' });
  try {
    const counts: CassandraRequests = {};
    for (const kind of ['read', 'write'] as const) {
      const rows = await client.execute(
        `SELECT table_name, count FROM system_views.coordinator_${kind}_latency WHERE keyspace_name = ? ALLOW FILTERING`,
        [keyspace],
      );
      for (const row of rows.rows) counts[`${kind} ${String(row.get('table_name'))}`] = Number(row.get('count'));
    }
    return counts;
  } finally {
    await client.shutdown();
  }
}

/** The requests made between two readings, per `per` (e.g. per client), tables with none left out. */
export function requestsBetween(before: CassandraRequests, after: CassandraRequests, per: number) {
  const out: CassandraRequests = {};
  for (const [key, count] of Object.entries(after)) {
    const made = count - (before[key] ?? 0);
    if (made > 0) out[key] = Math.round((made / per) * 100) / 100;
  }
  return out;
}
