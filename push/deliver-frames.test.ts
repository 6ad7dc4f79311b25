import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerFrame } from '../proto/gen/im/v1/client.pb.ts';
import { message } from '../test/fixtures.ts';
import { deliverFrames } from './deliver-frames.ts';
import { encodeDeliver } from './index.ts';

describe('deliverFrames', () => {
  it('writes the bytes encodeDeliver writes when everything fits in one frame', () => {
    const messages = [1, 2, 3].map((seq) => message(seq));
    assert.deepEqual(deliverFrames(messages, 1 << 20), [encodeDeliver(messages)]);
  });

  it('splits at the bound, in order, each message whole, and sends one over the bound alone', () => {
    const messages = [1, 2, 3, 4, 5].map((seq) => message(seq, 'x'.repeat(seq === 3 ? 5_000 : 400)));
    const frames = deliverFrames(messages, 1_000);
    const decoded = frames.map((f) => {
      const body = ServerFrame.decode(f).body;
      assert.equal(body?.$case, 'deliver');
      return body.value.messages;
    });
    assert.deepEqual(decoded.flat(), messages);
    assert.deepEqual(
      decoded.map((batch) => batch.map((m) => m.seq)),
      [[1, 2], [3], [4, 5]],
    );
  });
});
