import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dmConversation } from '../../lib/conversation.ts';
import { sealed, testDevice, textOf, TestDirectory } from './e2e.fixture.ts';
import { FileE2eStore } from './file-store.ts';

test('a file store keeps a device across restarts: keys, sessions and what it sent (Buffers and byte arrays alike)', async () => {
  const dir = new TestDirectory();
  const path = join(mkdtempSync(join(tmpdir(), 'im-e2e-')), 'keys', 'bob.json');
  const DM = dmConversation('alice', 'bob');
  const alice = await testDevice(dir, 'alice', 'a1');
  let bob = await testDevice(dir, 'bob', 'b1', new FileE2eStore(path));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(textOf(bob, await sealed(alice, DM, ['alice', 'bob'], 'one')), 'one');
  const mine = await sealed(bob, DM, ['alice', 'bob'], 'from bob');
  await bob.e2e.save();
  for (let run = 0; run < 2; run++) {
    bob = await testDevice(dir, 'bob', 'b1', new FileE2eStore(path));
    assert.equal(
      textOf(bob, await sealed(alice, DM, ['alice', 'bob'], `after restart ${run}`)),
      `after restart ${run}`,
    );
    assert.equal(textOf(bob, mine), 'from bob', 'its own sent message, from its store');
    assert.equal(textOf(alice, await sealed(bob, DM, ['alice', 'bob'], `reply ${run}`)), `reply ${run}`);
    await bob.e2e.save();
  }
});
