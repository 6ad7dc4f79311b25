import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerFrame, SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import { encodedReply, ServerFrameBody } from './encoded-reply.ts';

describe('encodedReply', () => {
  const sync: SyncResponse = {
    messages: [],
    syncKey: 'key',
    hasMore: true,
    reset: false,
    inboxSeq: 42,
    unread: [{ conversation: 'dm:a:b', unread: 3, readSeq: 7 }],
    totalUnread: 3,
    streams: [],
  };

  it('is byte for byte the frame ts-proto encodes from the decoded body', () => {
    for (const requestId of [0, 1, 300, 2 ** 32 - 1]) {
      const bytes = encodedReply(requestId, ServerFrameBody.sync, SyncResponse.encode(sync).finish());
      assert.deepEqual(bytes, ServerFrame.encode({ requestId, body: { $case: 'sync', value: sync } }).finish());
      assert.deepEqual(ServerFrame.decode(bytes), { requestId, body: { $case: 'sync', value: sync } });
    }
  });

  it('carries an empty body as the empty message', () => {
    const decoded = ServerFrame.decode(encodedReply(5, ServerFrameBody.sync, new Uint8Array()));
    assert.equal(decoded.body?.$case, 'sync');
    assert.deepEqual(decoded.body.value, SyncResponse.decode(new Uint8Array()));
  });
});
