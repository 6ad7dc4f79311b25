import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertId, dmConversation, isId } from './conversation.ts';

describe('ids and conversation names', () => {
  it('accepts 1-64 characters of [A-Za-z0-9_.@-]', () => {
    for (const id of ['a', 'alice@example.com', 'dev_1.x-2', 'x'.repeat(64)]) {
      assert.equal(isId(id), true, id);
      assert.equal(assertId('user', id), id);
    }
  });

  it('refuses empty, too long, spaced and colon ids with INVALID_ARGUMENT naming the kind', () => {
    for (const id of ['', 'x'.repeat(65), 'has space', 'a:b', 'é', 'a\nb']) {
      assert.equal(isId(id), false, id);
      assert.throws(() => assertId('device', id), { code: 'INVALID_ARGUMENT', message: /^device id must be/ });
    }
  });

  it('quotes at most 40 characters of a refused id, with its length', () => {
    const huge = 'x'.repeat(60_000);
    assert.throws(
      () => assertId('user', huge),
      (err: Error) => {
        assert.ok(err.message.length < 200, `message is ${err.message.length} characters`);
        assert.match(err.message, /"x{40}"… \(60000 characters\)$/);
        return true;
      },
    );
  });

  it('names a 1:1 conversation alike from both sides', () => {
    assert.equal(dmConversation('bob', 'alice'), 'dm:alice:bob');
    assert.equal(dmConversation('alice', 'bob'), 'dm:alice:bob');
  });
});
