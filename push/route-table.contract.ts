import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Route, RouteTable } from './route-table.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The behaviour every RouteTable adapter promises. */
export function routeTableContract(
  adapter: string,
  setup: () => Promise<{ table: RouteTable; close: () => Promise<void> }>,
): void {
  describe(`RouteTable contract: ${adapter}`, () => {
    let table: RouteTable;
    let close: () => Promise<void>;
    before(async () => ({ table, close } = await setup()));
    after(() => close());
    const route = (over: Partial<Route> = {}): Route => ({
      user: `u-${randomUUID().slice(0, 8)}`,
      device: 'phone',
      node: 'gw-1',
      connId: randomUUID(),
      atMs: Date.now(),
      ...over,
    });

    it('finds every device of a user', async () => {
      const phone = route();
      const laptop = route({ user: phone.user, device: 'laptop', node: 'gw-2' });
      await table.put(phone, 10_000);
      await table.put(laptop, 10_000);
      const found = await table.lookup([phone.user, 'nobody-' + randomUUID()]);
      assert.equal(found.size, 1);
      assert.deepEqual(
        found
          .get(phone.user)
          ?.map((r) => r.device)
          .sort(),
        ['laptop', 'phone'],
      );
      assert.equal(found.get(phone.user)?.find((r) => r.device === 'laptop')?.node, 'gw-2');
    });

    it('lets a late offline event of an old connection leave the new route alone', async () => {
      const old = route();
      const fresh = route({ user: old.user, connId: randomUUID(), atMs: old.atMs + 1 });
      await table.put(old, 10_000);
      await table.put(fresh, 10_000);
      await table.remove(old);
      assert.equal((await table.lookup([old.user])).get(old.user)?.[0]?.connId, fresh.connId);
      await table.remove(fresh);
      assert.equal((await table.lookup([old.user])).size, 0);
    });

    it('never lets an older connection replace a newer route', async () => {
      const fresh = route();
      await table.put(fresh, 10_000);
      await table.put(route({ user: fresh.user, atMs: fresh.atMs - 1000 }), 10_000);
      assert.equal((await table.lookup([fresh.user])).get(fresh.user)?.[0]?.connId, fresh.connId);
    });

    it('expires routes that are not refreshed, and keeps refreshed ones', async () => {
      const kept = route();
      const dropped = route();
      await table.put(kept, 1_000);
      await table.put(dropped, 1_000);
      await sleep(600);
      await table.refresh([kept], 5_000);
      await sleep(700);
      const found = await table.lookup([kept.user, dropped.user]);
      assert.ok(found.has(kept.user), 'refreshed route expired');
      assert.ok(!found.has(dropped.user), 'unrefreshed route outlived its TTL');
    });
  });
}
