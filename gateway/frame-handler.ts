import { ChatInput } from '../proto/gen/im/v1/bus.pb.ts';
import { stopwatch, wallUs } from '../lib/metrics.ts';
import type { ClientFrame, ServerFrame } from '../proto/gen/im/v1/client.pb.ts';
import type { Admission } from '../lib/admission.ts';
import type { Bus } from '../lib/bus.ts';
import { assertId, dmConversation, groupConversation, SYSTEM_CONVERSATION } from '../lib/conversation.ts';
import { echo } from '../lib/echo.ts';
import { ImError, toImError } from '../lib/errors.ts';
import type { EncodedApiOf } from '../lib/grpc.ts';
import type { Logger } from '../lib/logger.ts';
import { topics } from '../lib/topics.ts';
import type { LogicApi } from '../logic/index.ts';
import type { PushApi } from '../push/index.ts';
import type { SyncApi, SyncServiceService } from '../sync/index.ts';
import { frameOfPage, queryOfFrame, type SearchApi } from '../search/index.ts';
import type { Connection } from './connection.ts';
import { encodedReply, ServerFrameBody } from './encoded-reply.ts';
import type { UserLimits } from './user-limits.ts';

export type EncodedSync = Pick<EncodedApiOf<typeof SyncServiceService>, 'getDiff'>;

export interface FrameHandlerDeps {
  node: string;
  bus: Bus;
  sync: SyncApi;
  /** GetDiff answering with the encoded SyncResponse (a gRPC client's `encoded`), forwarded as it comes. */
  syncEncoded: EncodedSync;
  /** GetDiff calls wait their turn here (the expensive call a reconnect storm makes). */
  syncs: Admission;
  /** A user's own bound on syncs in flight. */
  userLimits: UserLimits;
  logic: LogicApi;
  /** Devices' mobile push registrations. */
  push: DevicePush;
  /** Message search; absent where this gateway serves none (UNAVAILABLE). */
  search?: SearchApi;
  log: Logger;
}

export type DevicePush = Pick<PushApi, 'registerDevice' | 'unregisterDevice'>;

type Reply = ServerFrame['body'];

/** Answers one decoded client frame on the same connection; bad input gets an error frame, never a throw. */
export class FrameHandler {
  constructor(private readonly deps: FrameHandlerDeps) {}

  handle(conn: Connection, frame: ClientFrame): Promise<void> | undefined {
    const body = frame.body;
    // A heartbeat is answered in the turn it arrives: it needs nothing asynchronous (decision 0017).
    if (body?.$case === 'ping') {
      conn.send({ requestId: frame.requestId, body: { $case: 'pong', value: pongTo(body.value.clientTimeMs) } });
      return;
    }
    return this.answer(conn, frame);
  }

  private async answer(conn: Connection, frame: ClientFrame): Promise<void> {
    const requestId = frame.requestId;
    try {
      const reply = await this.dispatch(conn, frame);
      if (reply && (requestId !== 0 || reply.$case !== 'ackResult')) conn.send({ requestId, body: reply });
    } catch (err) {
      const e = toImError(err);
      if (e.code === 'INTERNAL') this.deps.log.error({ err, case: frame.body?.$case }, 'frame failed');
      conn.sendError(requestId, e.code, e.code === 'INTERNAL' ? 'internal error' : e.message, e.retryAfterMs);
    }
  }

  /** Returns the reply, or undefined where the reply comes later (a send is answered once it is durable). */
  private async dispatch(conn: Connection, frame: ClientFrame): Promise<Reply> {
    const { sync, syncs, logic } = this.deps;
    const who = { user: conn.user, device: conn.device };
    const body = frame.body;
    switch (body?.$case) {
      case 'send':
        await this.publishSend(conn, frame.requestId, body.value);
        return undefined;
      case 'sync': {
        const request = { ...who, syncKey: body.value.syncKey, limit: body.value.limit };
        const page = await this.deps.userLimits.sync(conn.user, () =>
          syncs.admit(
            () => this.deps.syncEncoded.getDiff(request),
            () => conn.isOpen,
          ),
        );
        conn.sendBytes(encodedReply(frame.requestId, ServerFrameBody.sync, page));
        return undefined;
      }
      case 'ack':
        return {
          $case: 'ackResult',
          value: await sync.ack({ ...who, ...body.value }),
        };
      case 'ping':
        return { $case: 'pong', value: pongTo(body.value.clientTimeMs) };
      case 'groupCreate':
        return { $case: 'group', value: await logic.createGroup({ actor: conn.user, ...body.value }) };
      case 'groupAdd':
        return { $case: 'group', value: await logic.addMembers({ actor: conn.user, ...body.value }) };
      case 'groupRemove':
        return { $case: 'group', value: await logic.removeMembers({ actor: conn.user, ...body.value }) };
      case 'groupMembers':
        return { $case: 'groupMembers', value: await logic.listMembers({ actor: conn.user, ...body.value }) };
      case 'groupLeave':
        return { $case: 'group', value: await logic.leaveGroup({ actor: conn.user, groupId: body.value.groupId }) };
      case 'groupDissolve':
        return { $case: 'group', value: await logic.dissolveGroup({ actor: conn.user, groupId: body.value.groupId }) };
      case 'groupSetRole':
        return { $case: 'group', value: await logic.setMemberRole({ actor: conn.user, ...body.value }) };
      case 'groupList':
        return { $case: 'groupList', value: await logic.listGroups({ actor: conn.user, ...body.value }) };
      case 'pushRegister': {
        const request = { user: conn.user, device: conn.device, registration: body.value };
        return { $case: 'pushDevice', value: await this.deps.push.registerDevice(request) };
      }
      case 'pushUnregister':
        return {
          $case: 'pushDevice',
          value: await this.deps.push.unregisterDevice({ user: conn.user, device: conn.device }),
        };
      case 'keyUpload':
        return { $case: 'keyStatus', value: await logic.uploadKeys({ ...who, upload: body.value }) };
      case 'keyQuery':
        return { $case: 'keyBundles', value: await logic.queryKeys({ ...who, query: body.value }) };
      case 'search': {
        if (!this.deps.search) throw new ImError('UNAVAILABLE', 'search is not served here');
        const page = await this.deps.search.search(conn.user, queryOfFrame(body.value));
        return { $case: 'searchResult', value: frameOfPage(page) };
      }
      case undefined:
        throw new ImError('BAD_FRAME', 'frame has no body');
      default:
        return assertNever(body);
    }
  }

  private async publishSend(conn: Connection, requestId: number, send: NonNullable<ChatInput['send']>): Promise<void> {
    const timer = stopwatch();
    const to = send.to?.kind;
    if (!to) throw new ImError('INVALID_ARGUMENT', 'send needs a recipient: a user or a group');
    // A user's read markers of their system notices are theirs alone: keyed by the user, they spread over partitions.
    const conversation =
      to.$case === 'user'
        ? dmConversation(conn.user, assertId('user', to.value))
        : to.$case === 'group'
          ? groupConversation(assertId('group', to.value))
          : `${SYSTEM_CONVERSATION}:${conn.user}`;
    const input: ChatInput = {
      user: conn.user,
      device: conn.device,
      send,
      origin: { node: this.deps.node, connId: conn.connId, requestId },
      receivedAtMs: Date.now(),
      receivedAtUs: wallUs(),
    };
    await this.deps.bus.publish(topics.chatInput.name, conversation, ChatInput.encode(input).finish());
    timer.lap('gateway.publish');
  }
}

function pongTo(clientTimeMs: number) {
  return { clientTimeMs, serverTimeMs: Date.now() };
}

/** Names only the case, bounded: the value is the client's and may be of any size. */
function assertNever(value: never): never {
  throw new ImError('BAD_FRAME', `unknown frame ${echo(String((value as { $case?: unknown }).$case))}`);
}
