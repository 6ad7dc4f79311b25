// The naive relay both baseline servers run (bench/servers/bare-ws.ts on ws, bench/servers/bun-ws.ts on Bun's
// server): a send goes straight to the recipient's sockets and is appended to an in-memory array per user (no bus,
// no dedupe, no durability, nothing shared with another process); GetDiff pages that array; pongs; groups are a
// member list. Written against a socket that can send bytes, so the two runtimes run the same code.
import { randomUUID } from 'node:crypto';
import { ClientFrame, ServerFrame } from '../../proto/gen/im/v1/client.pb.ts';
import { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { encodeDeliver } from '../../push/index.ts';

export interface RelaySocket {
  send(frame: Uint8Array): unknown;
}

/** fromPartial: fields the protocol gains later default to empty, so the baselines keep compiling. */
export const send = (ws: RelaySocket, frame: DeepPartialFrame): void =>
  void ws.send(ServerFrame.encode(ServerFrame.fromPartial(frame)).finish());
type DeepPartialFrame = Parameters<typeof ServerFrame.fromPartial>[0];

export class Relay<S extends RelaySocket> {
  readonly sockets = new Set<S>();
  private readonly byUser = new Map<string, Set<S>>();
  private readonly inbox = new Map<string, Message[]>();
  private readonly groups = new Map<string, string[]>();
  private msgCounter = 0;

  /** A connection of `user` opened: it gets the authResult the clients wait for. */
  open(ws: S, user: string, device: string): void {
    this.sockets.add(ws);
    let mine = this.byUser.get(user);
    if (!mine) this.byUser.set(user, (mine = new Set()));
    mine.add(ws);
    send(ws, {
      requestId: 0,
      body: {
        $case: 'authResult',
        value: {
          user,
          device,
          connId: randomUUID(),
          serverTimeMs: Date.now(),
          heartbeatIntervalMs: 25_000,
          maxFrameBytes: 65_536,
        },
      },
    });
  }

  close(ws: S, user: string): void {
    this.sockets.delete(ws);
    this.byUser.get(user)?.delete(ws);
  }

  private append(user: string, m: Parameters<typeof Message.fromPartial>[0]): Message {
    let list = this.inbox.get(user);
    if (!list) this.inbox.set(user, (list = []));
    const stored = Message.fromPartial({ ...m, seq: list.length + 1 });
    list.push(stored);
    return stored;
  }

  /** Answers one client frame the naive way; frames it does not know are ignored. */
  onMessage(ws: S, user: string, device: string, data: Uint8Array): void {
    let frame: ClientFrame;
    try {
      frame = ClientFrame.decode(data);
    } catch {
      return;
    }
    const { requestId, body } = frame;
    switch (body?.$case) {
      case 'ping':
        return send(ws, {
          requestId,
          body: { $case: 'pong', value: { clientTimeMs: body.value.clientTimeMs, serverTimeMs: Date.now() } },
        });
      case 'send': {
        const s = body.value;
        const kind = s.to?.kind;
        // The relay is a baseline for chat: it has no system notices.
        if (!kind || kind.$case === 'system') return;
        const recipients = kind.$case === 'user' ? [kind.value] : (this.groups.get(kind.value) ?? []);
        const conversation =
          kind.$case === 'user' ? `dm:${[user, kind.value].sort().join(':')}` : `group:${kind.value}`;
        const base = {
          serverMsgId: String(++this.msgCounter),
          conversation,
          fromUser: user,
          fromDevice: device,
          clientMsgId: s.clientMsgId,
          stream: 'inbox',
          sentAtMs: Date.now(),
          contentType: s.contentType,
          body: s.body,
        };
        for (const r of recipients) {
          if (r === user) continue;
          const stored = this.append(r, base);
          for (const peer of this.byUser.get(r) ?? []) peer.send(encodeDeliver([stored]));
        }
        const own = this.append(user, base);
        return send(ws, {
          requestId,
          body: {
            $case: 'sendResult',
            value: {
              clientMsgId: s.clientMsgId,
              serverMsgId: base.serverMsgId,
              conversation,
              seq: own.seq,
              sentAtMs: base.sentAtMs,
            },
          },
        });
      }
      case 'sync': {
        const list = this.inbox.get(user) ?? [];
        const after = Number(body.value.syncKey || '0');
        const limit = Math.min(500, body.value.limit || 100);
        const messages = list.slice(after, after + limit);
        const last = messages.at(-1)?.seq ?? after;
        return send(ws, {
          requestId,
          body: {
            $case: 'sync',
            value: { messages, syncKey: String(last), hasMore: last < list.length, reset: false, inboxSeq: last },
          },
        });
      }
      case 'ack':
        return send(ws, {
          requestId,
          body: { $case: 'ackResult', value: { syncKey: body.value.syncKey, inboxSeq: body.value.inboxSeq } },
        });
      case 'groupCreate': {
        const id = randomUUID();
        const members = [...new Set([user, ...body.value.members])];
        this.groups.set(id, members);
        return send(ws, {
          requestId,
          body: {
            $case: 'group',
            value: { groupId: id, name: body.value.name, owner: user, memberCount: members.length },
          },
        });
      }
      default:
        return;
    }
  }
}
