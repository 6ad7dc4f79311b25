import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readableScopes } from './readable-scopes.ts';

describe('readableScopes', () => {
  it("grants the timelines of the user's groups now, notices to everyone, and their tags since they got them", async () => {
    const asked: string[] = [];
    const scopes = await readableScopes('ann', {
      groupsOf: (user) => (asked.push(user), Promise.resolve(['g1', 'g2'])),
      tagsOf: (user) => (asked.push(user), Promise.resolve([{ appId: 'shop', tag: 'vip', sinceMs: 5 }])),
    });
    assert.deepEqual(asked, ['ann', 'ann']);
    assert.deepEqual(scopes, {
      timelines: [
        { conversation: 'group:g1', spans: [{}] },
        { conversation: 'group:g2', spans: [{}] },
      ],
      noticesToAll: true,
      noticeTags: [{ appId: 'shop', tag: 'vip', sinceMs: 5 }],
    });
  });
});
