// Shared test data. A fixture lives here once more than one service's tests use it, so that no test reaches into
// another service's files for it.
import { Message } from '../proto/gen/im/v1/message.pb.ts';

/** A text message of dm:a:b from a/phone at seq, its ids and send time derived from seq. */
export function message(seq: number, text = `m${seq}`): Message {
  return Message.create({
    serverMsgId: `s${seq}`,
    conversation: 'dm:a:b',
    fromUser: 'a',
    fromDevice: 'phone',
    clientMsgId: `c${seq}`,
    seq,
    stream: 'inbox',
    sentAtMs: 1_700_000_000_000 + seq,
    contentType: 'text/plain',
    body: Buffer.from(text),
  });
}
