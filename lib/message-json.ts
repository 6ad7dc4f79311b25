import type { Message } from '../proto/gen/im/v1/message.pb.ts';

/**
 * A Message in the JSON that `POST /v1/sync` answers and imctl prints: snake_case like the wire protocol; text for
 * text/plain, base64 for anything else. An operation names its kind and its target (a read marker its position);
 * a recalled message (a tombstone, its body emptied) carries `recalled: true`, and the field is absent otherwise.
 */
export function messageJson(m: Message) {
  return {
    conversation: m.conversation,
    from: m.fromUser,
    from_device: m.fromDevice,
    seq: m.seq,
    stream: m.stream || 'inbox',
    server_msg_id: m.serverMsgId,
    client_msg_id: m.clientMsgId,
    sent_at_ms: m.sentAtMs,
    content_type: m.contentType,
    ...opJson(m),
    ...(m.recalled ? { recalled: true } : {}),
    ...(m.contentType === 'text/plain'
      ? { text: Buffer.from(m.body).toString('utf8') }
      : { body_base64: Buffer.from(m.body).toString('base64') }),
  };
}

function opJson(m: Message): Record<string, unknown> {
  const op = m.op?.kind;
  if (!op) return {};
  if (op.$case === 'read') {
    return { op: 'read', read_seq: op.value.seq, read_stream: op.value.stream || 'inbox', unread: op.value.unread };
  }
  if (op.$case === 'mute') return { op: 'mute', muted_until_ms: op.value.untilMs };
  return {
    op: op.$case,
    target: {
      from_device: op.value.fromDevice,
      client_msg_id: op.value.clientMsgId,
      server_msg_id: op.value.serverMsgId,
    },
  };
}
