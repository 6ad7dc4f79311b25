import { byUserDevice, type Revocation, type RevocationStore } from './revocation-store.ts';

export class MemoryRevocationStore implements RevocationStore {
  private readonly rows = new Map<string, { revocation: Revocation; expiresAtMs: number }>();

  revoke(revocation: Revocation, expiresAtMs: number): Promise<void> {
    const key = `${revocation.user}\n${revocation.device}`;
    const held = this.rows.get(key);
    if (!held || held.revocation.atMs < revocation.atMs)
      this.rows.set(key, { revocation: { ...revocation }, expiresAtMs });
    return Promise.resolve();
  }

  active(nowMs: number): Promise<Revocation[]> {
    const live = [...this.rows.values()].filter((r) => r.expiresAtMs > nowMs).map((r) => ({ ...r.revocation }));
    return Promise.resolve(live.sort(byUserDevice));
  }
}
