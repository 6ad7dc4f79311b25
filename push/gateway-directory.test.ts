import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { GatewayApi } from '../lib/gateway-api.ts';
import type { Closeable } from '../lib/lifecycle.ts';
import { RegistryGatewayDirectory } from './gateway-directory.ts';
import { MemoryGatewayRegistry } from './gateway-registry.memory.ts';

/** A registry that counts its reads, and gateway clients that say which address they were made for. */
function setUp(freshMs: number) {
  const registry = new MemoryGatewayRegistry();
  let reads = 0;
  const counted = Object.assign(Object.create(registry) as MemoryGatewayRegistry, {
    get: (node: string) => {
      reads++;
      return registry.get(node);
    },
  });
  const closed: string[] = [];
  const directory = new RegistryGatewayDirectory(
    counted,
    (address) =>
      ({ address, close: () => Promise.resolve(void closed.push(address)) }) as unknown as GatewayApi & Closeable,
    { freshMs },
  );
  const addressOf = async (node: string) => ((await directory.get(node)) as { address: string } | undefined)?.address;
  return { registry, directory, addressOf, reads: () => reads, closed };
}

describe('RegistryGatewayDirectory', () => {
  it('reads a node once for many lookups within freshMs, and sees a new address or a departure after it', async () => {
    const { registry, addressOf, reads, closed } = setUp(50);
    await registry.register({ node: 'g1', grpcAddress: '127.0.0.1:1', wsUrl: '' }, 60_000);
    const found = await Promise.all(Array.from({ length: 20 }, () => addressOf('g1')));
    assert.deepEqual(found, Array(20).fill('127.0.0.1:1'));
    assert.equal(reads(), 1);

    await registry.register({ node: 'g1', grpcAddress: '127.0.0.1:2', wsUrl: '' }, 60_000);
    assert.equal(await addressOf('g1'), '127.0.0.1:1', 'within freshMs the entry read is used');
    await sleep(80);
    assert.equal(await addressOf('g1'), '127.0.0.1:2');
    assert.deepEqual(closed, ['127.0.0.1:1'], 'the client of the old address is closed');

    await registry.unregister('g1');
    await sleep(80);
    assert.equal(await addressOf('g1'), undefined);
    assert.equal(await addressOf('nobody'), undefined);
  });
});
