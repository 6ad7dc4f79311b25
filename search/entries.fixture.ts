import { Message } from '../proto/gen/im/v1/message.pb.ts';
import type { StoredEntry } from './indexing.ts';

// Stored entries for the indexing tests: a text message as logic stores it, at each recipient's seq.

export const SENT = 1_700_000_000_000;

export function msg(fields: Partial<Message>): Message {
  return Message.create({
    serverMsgId: '01JEXAMPLE0000000000000001',
    conversation: 'dm:ann:bob',
    fromUser: 'ann',
    fromDevice: 'phone',
    clientMsgId: 'c1',
    stream: 'inbox',
    sentAtMs: SENT,
    contentType: 'text/plain',
    body: Buffer.from('hello harbour'),
    ...fields,
  });
}

/** The entries one inbox write stores: the same message at each recipient's seq. */
export function stored(message: Message, recipients: [string, number][]): StoredEntry[] {
  return recipients.map(([user, seq]) => ({ user, message: { ...message, seq } }));
}
