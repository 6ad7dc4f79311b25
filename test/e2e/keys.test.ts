import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startServer } from './harness.ts';
import { KeyDevice, keysSuite, u } from './keys.suite.ts';

// Services as objects, and with every call between them over loopback gRPC.
for (const transport of ['direct', 'grpc'] as const) {
  keysSuite(`embedded, in memory, ${transport}`, () => startServer({ transport }));
}

describe('key directory (embedded, data directory)', () => {
  it('keeps keys, claims and fallback counts across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'im-keys-'));
    const [ann, bob] = [u('r-ann'), u('r-bob')];
    try {
      let server = await startServer({ dataDir });
      let phone = await KeyDevice.open(server, ann, 'phone');
      const first = phone.keys.firstUpload(1);
      await phone.upload(first);
      let pc = await KeyDevice.open(server, bob, 'pc');
      assert.equal((await pc.query({ users: [ann] })).devices[0]?.oneTimeKey?.id, 1);
      assert.deepEqual((await pc.query({ users: [ann] })).devices[0]?.fallbackKey, first.fallbackKey);
      phone.close();
      pc.close();
      await server.close();

      server = await startServer({ dataDir });
      try {
        phone = await KeyDevice.open(server, ann, 'phone', phone.keys);
        assert.deepEqual(await phone.status(), { oneTimeKeys: 0, fallbackClaims: 1 });
        pc = await KeyDevice.open(server, bob, 'pc');
        const [bundle] = (await pc.query({ users: [ann] })).devices;
        assert.deepEqual(bundle?.identityKey, phone.keys.identityKey);
        assert.deepEqual(bundle?.signedPrekey, first.signedPrekey);
        assert.deepEqual(bundle?.fallbackKey, first.fallbackKey);
        assert.deepEqual(await phone.status(), { oneTimeKeys: 0, fallbackClaims: 2 });
        phone.close();
        pc.close();
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
