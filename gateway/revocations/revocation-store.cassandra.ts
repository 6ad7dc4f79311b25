// RevocationStore on Cassandra: token_revocations, one small partition (revocations are few), rows expiring by TTL,
// in infra/cql/0013_token_revocations.cql. A revoke is one write; the later of two revocations of one device wins
// because the row's at_ms is only ever raised (a lightweight read first: revocations are rare, correctness matters).
import { long, toNumber, type Client } from '../../lib/cassandra.ts';
import { byUserDevice, type Revocation, type RevocationStore } from './revocation-store.ts';

const BUCKET = 0;
const PAGE = 1_000;
/** 100,000 live revocations at most are read: far past what lost phones make within a token's lifetime. */
const MAX_PAGES = 100;
const CQL = {
  get: 'SELECT at_ms FROM token_revocations WHERE bucket = ? AND user_id = ? AND device = ?',
  put: 'INSERT INTO token_revocations (bucket, user_id, device, at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?) USING TTL ?',
  all: 'SELECT user_id, device, at_ms, expires_at_ms FROM token_revocations WHERE bucket = ?',
} as const;

export class CassandraRevocationStore implements RevocationStore {
  constructor(private readonly client: Client) {}

  async revoke(r: Revocation, expiresAtMs: number): Promise<void> {
    const held = (await this.client.execute(CQL.get, [BUCKET, r.user, r.device])).first();
    if (held && toNumber(held.get('at_ms')) >= r.atMs) return;
    const ttlSec = Math.max(1, Math.ceil((expiresAtMs - Date.now()) / 1000));
    await this.client.execute(CQL.put, [BUCKET, r.user, r.device, long(r.atMs), long(expiresAtMs), ttlSec]);
  }

  async active(nowMs: number): Promise<Revocation[]> {
    const live: Revocation[] = [];
    let pageState: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.client.execute(CQL.all, [BUCKET], { prepare: true, fetchSize: PAGE, pageState });
      for (const row of res.rows) {
        if (toNumber(row.get('expires_at_ms')) <= nowMs) continue;
        live.push({
          user: row.get('user_id') as string,
          device: row.get('device') as string,
          atMs: toNumber(row.get('at_ms')),
        });
      }
      pageState = res.pageState ?? undefined;
      if (!pageState) break;
    }
    return live.sort(byUserDevice);
  }
}
