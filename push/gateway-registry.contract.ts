import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { GatewayEntry, GatewayRegistry } from './gateway-registry.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The behaviour every GatewayRegistry adapter promises. */
export function gatewayRegistryContract(
  adapter: string,
  setup: () => Promise<{ registry: GatewayRegistry; close: () => Promise<void> }>,
): void {
  describe(`GatewayRegistry contract: ${adapter}`, () => {
    let registry: GatewayRegistry;
    let close: () => Promise<void>;
    before(async () => ({ registry, close } = await setup()));
    after(() => close());
    const entry = (over: Partial<GatewayEntry> = {}): GatewayEntry => {
      const node = `gw-${randomUUID().slice(0, 8)}`;
      return { node, grpcAddress: '127.0.0.1:7001', wsUrl: `ws://127.0.0.1:8080/${node}`, ...over };
    };
    const mine = async (nodes: string[]) =>
      (await registry.list()).filter((e) => nodes.includes(e.node)).sort((a, b) => a.node.localeCompare(b.node));

    it('lists and gets registered gateways', async () => {
      const a = entry();
      const b = entry({ grpcAddress: '127.0.0.1:7002' });
      await registry.register(a, 10_000);
      await registry.register(b, 10_000);
      assert.deepEqual(
        await mine([a.node, b.node]),
        [a, b].sort((x, y) => x.node.localeCompare(y.node)),
      );
      assert.deepEqual(await registry.get(b.node), b);
      assert.equal(await registry.get(`gw-${randomUUID()}`), undefined);
    });

    it('replaces the addresses of a node that registers again', async () => {
      const a = entry();
      await registry.register(a, 10_000);
      const moved = { ...a, grpcAddress: '127.0.0.1:7999', wsUrl: 'ws://127.0.0.1:9999/' };
      await registry.register(moved, 10_000);
      assert.deepEqual(await mine([a.node]), [moved]);
      assert.deepEqual(await registry.get(a.node), moved);
    });

    it('drops an entry at once on unregister', async () => {
      const a = entry();
      await registry.register(a, 10_000);
      await registry.unregister(a.node);
      assert.equal(await registry.get(a.node), undefined);
      assert.deepEqual(await mine([a.node]), []);
    });

    it('forgets a gateway that stops its heartbeat, and keeps one that goes on', async () => {
      const kept = entry();
      const dead = entry();
      await registry.register(kept, 800);
      await registry.register(dead, 800);
      await sleep(500);
      await registry.register(kept, 800); // heartbeat
      await sleep(500);
      assert.deepEqual(await mine([kept.node, dead.node]), [kept]);
      assert.equal(await registry.get(dead.node), undefined);
      assert.deepEqual(await registry.get(kept.node), kept);
    });
  });
}
