import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newClusterId } from './kafka.ts';

describe('newClusterId', () => {
  it("makes 22-character base64url ids that never start with '-' (StorageTool would read one as an option)", () => {
    for (let i = 0; i < 5_000; i++) {
      const id = newClusterId();
      assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
