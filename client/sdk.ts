import { EventEmitter } from 'events';
import pRetry from 'p-retry';
import {
  ClientFrame,
  GroupRole,
  ServerFrame,
  type AuthResult,
  type GroupInfo,
  type GroupList,
  type GroupMember,
  type GroupMembers,
  type GroupSummary,
  type PushDevice,
  type SearchHit,
  type SearchResponse,
  type SendRequest,
  type SyncResponse,
} from '../proto/gen/im/v1/client.pb.ts';
import type { Message, MessageOp, Peer, SendResult } from '../proto/gen/im/v1/message.pb.ts';
import { dmConversation, groupConversation } from '../lib/conversation.ts';
import { ImError, isErrorCode } from '../lib/errors.ts';
import type { IdentityChange } from './e2e/end-to-end.ts';
import { ClientEncryption, type ChatMessage, type EncryptionOptions, type MessageEncryption } from './encryption.ts';
import { InboxOrder, timelineFollows } from './inbox-order.ts';
import { Notices, type NoticeEntry } from './notices.ts';
import { Pacer } from './pacer.ts';
import { openSocket, type ClientSocket, type OpenSocket } from './socket.ts';
import { unref } from './timers.ts';
import { expectReply, type ReplyBody } from './reply.ts';

export type {
  Message,
  SendResult,
  AuthResult,
  GroupInfo,
  GroupMembers,
  GroupMember,
  GroupList,
  GroupSummary,
  NoticeEntry,
  PushDevice,
  SearchHit,
  SearchResponse,
  ChatMessage,
  EncryptionOptions,
  MessageEncryption,
  IdentityChange,
};
export { MemoryE2eStore, type E2eStore } from './e2e/state.ts';
export { E2eError, type E2eErrorCode } from './e2e/e2e-error.ts';
export { GroupRole };

/** A group role by name, as the SDK's callers and imctl write it. */
export type GroupRoleName = 'owner' | 'admin' | 'member';

const ROLES: Record<GroupRoleName, GroupRole> = {
  owner: GroupRole.GROUP_ROLE_OWNER,
  admin: GroupRole.GROUP_ROLE_ADMIN,
  member: GroupRole.GROUP_ROLE_MEMBER,
};

/** The name of a role from the wire; undefined for UNSPECIFIED (e.g. the caller's role after leaving). */
export function groupRoleName(role: GroupRole): GroupRoleName | undefined {
  return (Object.keys(ROLES) as GroupRoleName[]).find((name) => ROLES[name] === role);
}

/** A page request: `cursor` from the previous page's `nextCursor` ('' or absent for the first), `limit` 0 = default. */
export interface PageOptions {
  cursor?: string;
  limit?: number;
}

/**
 * A search of the messages this user may read: every word of `text` must be found. Filters left out are unset;
 * `cursor` is the previous page's `nextCursor`; `limit` 1-50 (default 20); `order` newest first (default) or by
 * relevance; `kind` "dm", "group" or "notice"; times are inclusive bounds on sent_at_ms.
 */
export interface SearchOptions {
  text: string;
  conversation?: string;
  fromUser?: string;
  fromMs?: number;
  toMs?: number;
  kind?: 'dm' | 'group' | 'notice';
  order?: 'newest' | 'relevance';
  limit?: number;
  cursor?: string;
}

/** What a client saves to resume later without gaps or duplicates. */
export interface SyncState {
  syncKey: string;
  inboxSeq: number;
  /** Timelines: "group:<id>" (a large group) or "system" (notices to a tag or everyone) -> the last seq shown. */
  streams?: Record<string, number>;
}

export interface ImClientOptions {
  /** ws://host:port or a full URL ending in /v1/ws; a function is asked at every connect (to pick a gateway). */
  url: string | (() => string);
  /** A token, or a function that returns a fresh one (called at every connect). */
  token: string | (() => string | Promise<string>);
  state?: SyncState;
  /** Reconnect with backoff after a drop (default true). */
  reconnect?: boolean;
  backoff?: { minMs: number; maxMs: number };
  /** A send without a result after this long is sent again with the same client_msg_id. */
  sendRetryMs?: number;
  /** A send is given up (rejected UNAVAILABLE) after this long. */
  sendTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Messages per GetDiff page while catching up; default the most the server gives (every page is a round trip). */
  syncPageSize?: number;
  /**
   * End-to-end encryption (on unless false): this device publishes keys and opens encrypted messages; sends are
   * encrypted where asked for, and always in a conversation that is encrypted already.
   */
  e2e?: EncryptionOptions | false;
  /** How to open the WebSocket (default: the page's own in a browser, the `ws` package in Node). */
  openSocket?: OpenSocket;
}

/** How one send goes out: `encrypted` true starts (or keeps) the conversation end-to-end encrypted. */
export interface SendOptions {
  encrypted?: boolean;
}

/** The server's MAX_SYNC_LIMIT (sync/index.ts): a larger limit is cut to it. */
const MAX_SYNC_PAGE = 500;

interface ClientEvents {
  /**
   * A chat message or an operation (read marker, recall, edit); notices come as `notice` instead. Encrypted entries
   * come opened, or with `encryption.opened` false and the reason.
   */
  message: [ChatMessage];
  /** A device of a contact (or of this user) has new identity keys: compare the safety number again. */
  identityChanged: [IdentityChange];
  /** A system notice from an app, once, in order; never one past its expiry. */
  notice: [NoticeEntry];
  /** A notice this client showed was taken back (cancelled by its app). */
  noticeRecalled: [noticeId: string];
  connected: [AuthResult];
  disconnected: [{ code: number; reason: string }];
  state: [SyncState];
  /** Unread counts changed (a message arrived, this user read somewhere, or a sync brought the server's counts). */
  unread: [Map<string, number>];
  reset: [];
  error: [Error];
}

type RequestBody = NonNullable<ClientFrame['body']>;
type KeyUploadValue = Extract<RequestBody, { $case: 'keyUpload' }>['value'];
type KeyQueryValue = Extract<RequestBody, { $case: 'keyQuery' }>['value'];

interface PendingSend {
  body: RequestBody;
  resolve(result: SendResult): void;
  reject(err: Error): void;
  requestId: number;
  deadline: number;
  /** Sends to one peer go one at a time, in order: a retry never lets a later message overtake. */
  peer: string;
  /** When to transmit again without an answer (or after a rate-limit refusal). */
  retryAt: number;
}

/** Errors worth sending again with the same client_msg_id (the server dedupes). */
const RETRYABLE = new Set(['RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL']);

/**
 * The client SDK: connect with a token, send with automatic client_msg_id and retry, receive in order without
 * duplicates, ack, keep the sync_key, pull the diff on a gap, reconnect with backoff and resync.
 */
export class ImClient extends EventEmitter<ClientEvents> {
  private ws: ClientSocket | undefined;
  private nextRequestId = 1;
  private readonly requests = new Map<
    number,
    { resolve(b: ReplyBody): void; reject(e: Error): void; timer: NodeJS.Timeout }
  >();
  private readonly sends = new Map<string, PendingSend>();
  private readonly order: InboxOrder;
  /** One per large group the user is in, and the system timeline: each a stream of its own. */
  private readonly timelines = new Map<string, InboxOrder>();

  private timeline(stream: string): InboxOrder {
    let order = this.timelines.get(stream);
    // A timeline first seen now starts empty: its first message (prev_seq 0) follows; anything else waits for sync.
    if (!order) this.timelines.set(stream, (order = new InboxOrder(0, true, timelineFollows)));
    return order;
  }
  private syncKey: string;
  private syncing: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private closedByUser = false;
  /** Every frame goes out through here, within the budget the server announced. */
  private readonly pacer = new Pacer((frame) => this.ws?.send(frame));
  private readonly notices = new Notices();
  private reconnecting = false;
  auth: AuthResult | undefined;
  private readonly encryption: ClientEncryption | undefined;
  /** Frames that arrive while the device's keys load after auth: handled, in order, once they have. */
  private heldFrames: ServerFrame[] | undefined;
  /** Resolves close() once the socket has closed. */
  private closed: (() => void) | undefined;

  constructor(private readonly options: ImClientOptions) {
    super();
    if (options.e2e !== false) {
      const directory = {
        upload: async (value: KeyUploadValue) =>
          expectReply(await this.request({ $case: 'keyUpload', value }), 'keyStatus'),
        query: async (value: KeyQueryValue) =>
          expectReply(await this.request({ $case: 'keyQuery', value }), 'keyBundles'),
      };
      const members = async (groupId: string) => (await this.allGroupMembers(groupId)).map((m) => m.user);
      this.encryption = new ClientEncryption(options.e2e ?? {}, { directory, members }, (change) =>
        this.emit('identityChanged', change),
      );
    }
    this.syncKey = options.state?.syncKey ?? '';
    this.order = new InboxOrder(options.state?.inboxSeq ?? 0, false);
    for (const [stream, seq] of Object.entries(options.state?.streams ?? {})) {
      this.timelines.set(stream, new InboxOrder(seq, false, timelineFollows));
    }
  }

  get state(): SyncState {
    const streams = Object.fromEntries([...this.timelines].map(([stream, order]) => [stream, order.lastSeq]));
    return { syncKey: this.syncKey, inboxSeq: this.order.lastSeq, streams };
  }

  get connected(): boolean {
    return this.ws?.open === true && this.auth !== undefined;
  }

  /** Opens the connection and pulls everything missed; rejects with an ImError if the server refuses. */
  async connect(): Promise<AuthResult> {
    this.closedByUser = false;
    const auth = await this.open();
    await this.sync();
    return auth;
  }

  async close(): Promise<void> {
    await this.encryption?.close();
    this.closedByUser = true;
    this.stopTimers();
    await this.flushAck().catch(() => undefined);
    for (const s of this.sends.values()) s.reject(new ImError('UNAVAILABLE', 'client closed'));
    this.sends.clear();
    const ws = this.ws;
    if (!ws || ws.closed) return;
    await new Promise<void>((resolve) => {
      this.closed = resolve;
      ws.close(1000, 'bye');
      unref(setTimeout(() => (ws.terminate(), resolve()), 2_000));
    });
  }

  /**
   * Sends a message; resolves once it is durable. Survives reconnects; a retry never makes a second message. With
   * `encrypted` (or in a conversation encrypted already) it is encrypted for every device of its readers first.
   */
  async send(
    to: { user: string } | { group: string },
    content: { text: string } | { body: Uint8Array; contentType: string },
    clientMsgId: string = globalThis.crypto.randomUUID(),
    options: SendOptions = {},
  ): Promise<SendResult> {
    const peer: Peer = { kind: 'user' in to ? { $case: 'user', value: to.user } : { $case: 'group', value: to.group } };
    const plain = {
      contentType: 'text' in content ? 'text/plain' : content.contentType,
      body: 'text' in content ? Buffer.from(content.text, 'utf8') : Buffer.from(content.body),
    };
    const conversation = 'user' in to ? dmConversation(this.auth?.user ?? '', to.user) : groupConversation(to.group);
    return this.transmitContent({ clientMsgId, to: peer }, conversation, plain, options.encrypted);
  }

  /** Sends content, encrypted first when the conversation is (or is to be) end-to-end encrypted. */
  private async transmitContent(
    request: Omit<SendRequest, 'contentType' | 'body'>,
    conversation: string,
    content: { contentType: string; body: Buffer },
    encrypted: boolean | undefined,
  ): Promise<SendResult> {
    if (encrypted === true && !this.encryption)
      throw new ImError('INVALID_ARGUMENT', 'end-to-end encryption is turned off for this client');
    if (!this.encryption?.wants(conversation, encrypted)) return this.transmit({ ...request, ...content });
    const sealed = await this.encryption.seal(conversation, request.clientMsgId, content);
    const result = await this.transmit({ ...request, contentType: sealed.contentType, body: sealed.body });
    sealed.sent();
    return result;
  }

  /** True once `conversation` is end-to-end encrypted on this device (sent or received encrypted). */
  isEncrypted(conversation: string): boolean {
    return this.encryption?.isEncrypted(conversation) ?? false;
  }

  /** The 60-digit number to compare with `user` (in person, or by another channel) to rule out a key in between. */
  safetyNumber(user: string): Promise<string> {
    if (!this.encryption) return Promise.reject(new ImError('INVALID_ARGUMENT', 'end-to-end encryption is off'));
    return this.encryption.safetyNumber(user);
  }

  /** Sends a send frame until it has a result; the server dedupes retries by client_msg_id. */
  private transmit(value: SendRequest): Promise<SendResult> {
    const body: RequestBody = { $case: 'send', value };
    const clientMsgId = value.clientMsgId;
    return new Promise((resolve, reject) => {
      const pending: PendingSend = {
        body,
        resolve,
        reject,
        requestId: 0,
        deadline: Date.now() + (this.options.sendTimeoutMs ?? 30_000),
        peer: `${value.to?.kind?.$case ?? ''}:${value.to?.kind?.value ?? ''}`,
        retryAt: 0,
      };
      this.sends.set(clientMsgId, pending);
      if (this.headOf(pending.peer) === pending) this.transmitSend(pending);
    });
  }

  /** Unread messages per conversation, the same on every device of the user (from sync, kept current live). */
  readonly unread = new Map<string, number>();
  /** Entries shown while a sync is under way: counted again on top of the counts that sync returns. */
  private readonly shownLive: Message[] = [];

  /** Applies one shown entry (inbox or a large group's timeline) to the unread counts; true if they changed. */
  private count(m: Message): boolean {
    const op = m.op?.kind;
    if (op?.$case === 'read') this.unread.set(op.value.conversation, op.value.unread);
    else if (op?.$case === 'mute') return (void this.applyMute(op.value.conversation, op.value.untilMs), false);
    else if (op) return false;
    // The server counts a user's own message as reading the conversation up to it (entries come in order).
    else if (m.fromUser === this.auth?.user) this.unread.set(m.conversation, 0);
    else this.unread.set(m.conversation, (this.unread.get(m.conversation) ?? 0) + 1);
    return true;
  }

  /** Conversations this user muted (on any device), with until when. */
  readonly muted = new Map<string, number>();

  private applyMute(conversation: string, untilMs: number): void {
    if (untilMs > 0) this.muted.set(conversation, untilMs);
    else this.muted.delete(conversation);
  }

  /** No visible mobile push alerts for `conversation` on any device of this user, until `untilMs` (default: until unmuted). */
  mute(conversation: string, untilMs = Number.MAX_SAFE_INTEGER): Promise<SendResult> {
    return this.sendOp(conversation, { kind: { $case: 'mute', value: { conversation, untilMs } } });
  }

  unmute(conversation: string): Promise<SendResult> {
    return this.mute(conversation, 0);
  }

  get totalUnread(): number {
    let total = 0;
    for (const n of this.unread.values()) total += n;
    return total;
  }

  /**
   * Marks `conversation` read up to `seq` on every device of this user: an inbox seq, or (stream = the
   * conversation id) a seq of a timeline (a large group's, or "system"); an entry's own `stream` and `seq` say which.
   */
  markRead(conversation: string, seq: number, stream = 'inbox'): Promise<SendResult> {
    return this.sendOp(conversation, { kind: { $case: 'read', value: { conversation, seq, stream, unread: 0 } } });
  }

  /** Takes back a message this user sent (within the server's recall window). */
  recall(message: Pick<Message, 'conversation' | 'fromDevice' | 'clientMsgId'>): Promise<SendResult> {
    const value = { fromDevice: message.fromDevice, clientMsgId: message.clientMsgId, serverMsgId: '' };
    return this.sendOp(message.conversation, { kind: { $case: 'recall', value } });
  }

  /** Replaces the text of a message this user sent (encrypted again in an encrypted conversation). */
  edit(message: Pick<Message, 'conversation' | 'fromDevice' | 'clientMsgId'>, text: string): Promise<SendResult> {
    const value = { fromDevice: message.fromDevice, clientMsgId: message.clientMsgId, serverMsgId: '' };
    const request = {
      clientMsgId: globalThis.crypto.randomUUID(),
      to: peerOf(message.conversation, this.auth?.user ?? ''),
      op: { kind: { $case: 'edit' as const, value } },
    };
    const content = { contentType: 'text/plain', body: Buffer.from(text, 'utf8') };
    return this.transmitContent(request, message.conversation, content, undefined);
  }

  private sendOp(conversation: string, op: MessageOp, body: Buffer = Buffer.alloc(0)): Promise<SendResult> {
    const to = peerOf(conversation, this.auth?.user ?? '');
    return this.transmit({ clientMsgId: globalThis.crypto.randomUUID(), to, contentType: 'text/plain', body, op });
  }

  /** Pulls until the server has nothing more (single flight: concurrent calls share one pull). */
  sync(): Promise<void> {
    this.syncing ??= this.pullAll().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** One GetDiff call with an explicit key, without touching the client's own state (for tools). */
  async getDiff(syncKey: string, limit: number): Promise<SyncResponse> {
    return expectReply(await this.request({ $case: 'sync', value: { syncKey, limit } }), 'sync');
  }

  async createGroup(name: string, members: string[]): Promise<GroupInfo> {
    return expectReply(await this.request({ $case: 'groupCreate', value: { name, members } }), 'group');
  }
  async addMembers(groupId: string, members: string[]): Promise<GroupInfo> {
    return expectReply(await this.request({ $case: 'groupAdd', value: { groupId, members } }), 'group');
  }
  async removeMembers(groupId: string, members: string[]): Promise<GroupInfo> {
    return expectReply(await this.request({ $case: 'groupRemove', value: { groupId, members } }), 'group');
  }
  /** One page of members with their roles, ordered by user id; `nextCursor` is empty on the last page. */
  async groupMembers(groupId: string, page: PageOptions = {}): Promise<GroupMembers> {
    const value = { groupId, cursor: page.cursor ?? '', limit: page.limit ?? 0 };
    return expectReply(await this.request({ $case: 'groupMembers', value }), 'groupMembers');
  }
  /** Every member with their role, following the cursor page by page. */
  async allGroupMembers(groupId: string, pageSize = 0): Promise<GroupMember[]> {
    const all: GroupMember[] = [];
    let cursor = '';
    do {
      const page = await this.groupMembers(groupId, { cursor, limit: pageSize });
      all.push(...page.entries);
      cursor = page.nextCursor;
    } while (cursor !== '');
    return all;
  }
  /** Leaves the group (the owner cannot: transfer ownership with setMemberRole(..., 'owner') or dissolve first). */
  async leaveGroup(groupId: string): Promise<GroupInfo> {
    return expectReply(await this.request({ $case: 'groupLeave', value: { groupId } }), 'group');
  }
  /** Owner only: removes everyone; the group refuses everything afterwards (GROUP_DISSOLVED). */
  async dissolveGroup(groupId: string): Promise<GroupInfo> {
    return expectReply(await this.request({ $case: 'groupDissolve', value: { groupId } }), 'group');
  }
  /** Owner only: makes `user` an admin or a plain member, or the owner ('owner' hands ownership over). */
  async setMemberRole(groupId: string, user: string, role: GroupRoleName): Promise<GroupInfo> {
    const value = { groupId, user, role: ROLES[role] };
    return expectReply(await this.request({ $case: 'groupSetRole', value }), 'group');
  }
  /**
   * This device's mobile push token: while it is not connected, messages and notices it has not acknowledged reach it
   * through APNs or FCM (replaces the token it registered before).
   */
  async registerPush(registration: {
    platform: 'apns' | 'fcm';
    token: string;
    topic?: string;
    environment?: 'production' | 'sandbox';
    locale?: string;
    previews?: boolean;
  }): Promise<PushDevice> {
    const value = { topic: '', environment: '', locale: '', previews: false, ...registration };
    // A registration may be sent again: tried a few times while the server has a passing failure.
    return pRetry(async () => expectReply(await this.request({ $case: 'pushRegister', value }), 'pushDevice'), {
      retries: 2,
      minTimeout: 200,
      randomize: true,
      shouldRetry: ({ error }) => error instanceof ImError && RETRYABLE.has(error.code),
    });
  }
  /** No more mobile pushes to this device (at logout). */
  async unregisterPush(): Promise<PushDevice> {
    return expectReply(await this.request({ $case: 'pushUnregister', value: {} }), 'pushDevice');
  }
  /** One page of the groups this user is in, with their role in each, ordered by group id. */
  async listGroups(page: PageOptions = {}): Promise<GroupList> {
    const value = { cursor: page.cursor ?? '', limit: page.limit ?? 0 };
    return expectReply(await this.request({ $case: 'groupList', value }), 'groupList');
  }

  /**
   * One page of hits for `options.text` among the messages this user may read (the server decides which), with
   * highlights in UTF-16 units of each snippet; continue with `nextCursor` while it is not empty. While the server
   * rebuilds its index after a restart it answers UNAVAILABLE with a hint, which this waits out like a rate limit.
   */
  async search(options: SearchOptions): Promise<SearchResponse> {
    const value = {
      text: options.text,
      conversation: options.conversation ?? '',
      fromUser: options.fromUser ?? '',
      fromMs: options.fromMs ?? 0,
      toMs: options.toMs ?? 0,
      kind: options.kind ?? '',
      order: options.order ?? '',
      limit: options.limit ?? 0,
      cursor: options.cursor ?? '',
    };
    return expectReply(await this.request({ $case: 'search', value }), 'searchResult');
  }

  /** Sends a request frame and waits for the frame that echoes its id. */
  async request(body: RequestBody): Promise<ReplyBody> {
    const deadline = Date.now() + (this.options.requestTimeoutMs ?? 10_000);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.requestOnce(body);
      } catch (err) {
        // Over the connection's rate limit, or the server is busy and said when to come back: wait and ask
        // again, until the request's time is up.
        if (!(err instanceof ImError)) throw err;
        // A refusal's hint is when the server's window ends: frames before then go unanswered.
        const wait =
          err.code === 'RATE_LIMITED'
            ? Math.max(err.retryAfterMs ?? 0, Math.min(100 * 2 ** attempt, 1_000) * (0.5 + Math.random() / 2))
            : err.code === 'UNAVAILABLE' && err.retryAfterMs !== undefined
              ? err.retryAfterMs
              : undefined;
        if (wait === undefined || Date.now() + wait > deadline) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private requestOnce(body: RequestBody): Promise<ReplyBody> {
    const ws = this.ws;
    if (!ws || !this.connected) return Promise.reject(new ImError('UNAVAILABLE', 'not connected'));
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(requestId);
        reject(new ImError('UNAVAILABLE', `no answer to ${body.$case} in time`));
      }, this.options.requestTimeoutMs ?? 10_000);
      this.requests.set(requestId, { resolve, reject, timer });
      this.pacer.send(ClientFrame.encode({ requestId, body }).finish());
    });
  }

  private async open(): Promise<AuthResult> {
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const base = typeof this.options.url === 'function' ? this.options.url() : this.options.url;
    const url = new URL(base.endsWith('/v1/ws') ? base : `${base.replace(/\/$/, '')}/v1/ws`);
    // This client pulls everything it missed right after connecting (sync), so push need not send it as well.
    url.searchParams.set('catch_up', '0');
    return new Promise<AuthResult>((resolve, reject) => {
      const ws: ClientSocket = (this.options.openSocket ?? openSocket)(url, token, {
        refused: (status, text) => reject(refusal(status, text)),
        error: (message, cause) =>
          reject(new ImError('UNAVAILABLE', `cannot connect to ${url.href}: ${message}`, { cause })),
        message: (data) => this.onSocketFrame(ws, data, resolve, reject),
        close: (code, reason) => this.onSocketClose(ws, code, reason, reject),
      });
      this.ws = ws;
    });
  }

  /** A frame on the connection: the auth result (resolving the connect once the keys have loaded), then the rest. */
  private onSocketFrame(
    ws: ClientSocket,
    data: Uint8Array,
    resolve: (auth: AuthResult) => void,
    reject: (err: Error) => void,
  ): void {
    const frame = this.decode(data);
    if (frame?.body?.$case === 'authResult' && !this.auth) {
      const auth = frame.body.value;
      this.auth = auth;
      const { rateLimitFrames: frames, rateLimitBytes: bytes, rateLimitWindowMs: windowMs } = auth;
      this.pacer.start({ frames, bytes, windowMs });
      this.startTimers(auth.heartbeatIntervalMs);
      this.heldFrames = [];
      this.loadKeys(auth).then(
        () => {
          if (this.ws !== ws) return;
          const held = this.heldFrames ?? [];
          this.heldFrames = undefined;
          for (const f of held) this.onFrame(f);
          this.emit('connected', auth);
          for (const s of this.heads()) this.transmitSend(s);
          resolve(auth);
        },
        (err: unknown) => {
          reject(err instanceof Error ? err : new Error(String(err)));
          ws.close(1000, 'cannot load end-to-end keys');
        },
      );
    } else if (frame) {
      // Answers to requests go through at once (loading the keys makes requests); the rest waits its turn.
      if (this.heldFrames && !this.requests.has(frame.requestId)) this.heldFrames.push(frame);
      else this.onFrame(frame);
    }
  }

  private onSocketClose(ws: ClientSocket, code: number, reason: string, reject: (err: Error) => void): void {
    this.closed?.();
    this.closed = undefined;
    this.auth = undefined;
    this.heldFrames = undefined;
    this.pacer.stop();
    this.stopTimers();
    for (const r of this.requests.values()) {
      clearTimeout(r.timer);
      r.reject(new ImError('UNAVAILABLE', 'connection closed'));
    }
    this.requests.clear();
    reject(new ImError('UNAVAILABLE', `connection closed (${code}) ${reason}`));
    this.emit('disconnected', { code, reason });
    if (!this.closedByUser && this.ws === ws && code !== 4009 && this.options.reconnect !== false)
      void this.reconnectLoop();
  }

  /** Loads this device's end-to-end state (first connect) and publishes or tops up its keys (in the background). */
  private async loadKeys(auth: AuthResult): Promise<void> {
    await this.encryption?.connected(auth);
  }

  private async reconnectLoop(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    const { minMs, maxMs } = this.options.backoff ?? { minMs: 200, maxMs: 10_000 };
    try {
      await pRetry(
        async () => {
          if (this.closedByUser) return;
          await this.open();
          await this.sync();
        },
        {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: minMs,
          maxTimeout: maxMs,
          randomize: true,
          // A busy server says when to come back (on top of the backoff, which keeps growing).
          onFailedAttempt: async ({ error }) => {
            if (error instanceof ImError && error.retryAfterMs !== undefined)
              await new Promise((r) => setTimeout(r, error.retryAfterMs));
          },
          shouldRetry: ({ error }) =>
            !this.closedByUser &&
            !(
              error instanceof ImError &&
              (error.code === 'UNAUTHORIZED' || error.code === 'TOKEN_EXPIRED') &&
              typeof this.options.token === 'string'
            ),
        },
      );
    } catch (err) {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.reconnecting = false;
    }
  }

  private decode(data: Uint8Array): ServerFrame | undefined {
    try {
      return ServerFrame.decode(data);
    } catch (err) {
      this.emit('error', new ImError('BAD_FRAME', 'server sent an undecodable frame', { cause: err }));
      return undefined;
    }
  }

  private onFrame(frame: ServerFrame): void {
    const body = frame.body;
    if (!body) return;
    if (body.$case === 'deliver') return this.onDeliver(body.value.messages);
    if (body.$case === 'reconnect') {
      // The server is draining: reconnect (the close handler does it).
      unref(setTimeout(() => this.ws?.close(1000, 'reconnect requested'), body.value.retryAfterMs));
      return;
    }
    if (body.$case === 'sendResult' || (body.$case === 'error' && this.sendByRequest(frame.requestId)))
      return this.onSendReply(frame.requestId, body);
    const pending = this.requests.get(frame.requestId);
    if (pending) {
      this.requests.delete(frame.requestId);
      clearTimeout(pending.timer);
      if (body.$case === 'error')
        pending.reject(serverError(body.value.code, body.value.message, body.value.retryAfterMs));
      else pending.resolve(body);
    } else if (body.$case === 'error') {
      this.emit('error', serverError(body.value.code, body.value.message));
    }
  }

  private onDeliver(messages: Message[]): void {
    const inbox = messages.filter((m) => isInbox(m));
    const { ready, needSync: inboxGap } = this.order.delivered(inbox);
    let needSync = inboxGap;
    for (const [stream, list] of byStream(messages)) {
      const result = this.timeline(stream).delivered(list);
      ready.push(...result.ready);
      needSync ||= result.needSync;
    }
    this.show(ready);
    if (needSync) void this.sync().catch(() => undefined);
  }

  private sendByRequest(requestId: number): PendingSend | undefined {
    for (const s of this.sends.values()) if (s.requestId === requestId) return s;
    return undefined;
  }

  private onSendReply(requestId: number, body: ReplyBody): void {
    const pending = this.sendByRequest(requestId);
    if (!pending || pending.body.$case !== 'send') return;
    const id = pending.body.value.clientMsgId;
    if (body.$case === 'sendResult') {
      this.sends.delete(id);
      pending.resolve(body.value);
    } else if (body.$case === 'error' && !RETRYABLE.has(body.value.code)) {
      this.sends.delete(id);
      pending.reject(serverError(body.value.code, body.value.message));
    } else {
      const hint = body.$case === 'error' ? body.value.retryAfterMs : 0;
      pending.retryAt = Date.now() + Math.max(hint, 100 + Math.random() * 300);
      return;
    }
    const next = this.headOf(pending.peer);
    if (next) this.transmitSend(next);
  }

  /** The oldest unanswered send to `peer` (the only one of that peer on the wire). */
  private headOf(peer: string): PendingSend | undefined {
    for (const s of this.sends.values()) if (s.peer === peer) return s;
    return undefined;
  }

  private heads(): PendingSend[] {
    const seen = new Set<string>();
    const heads: PendingSend[] = [];
    for (const s of this.sends.values()) {
      if (seen.has(s.peer)) continue;
      seen.add(s.peer);
      heads.push(s);
    }
    return heads;
  }

  private transmitSend(pending: PendingSend): void {
    if (!this.connected) return;
    pending.requestId = this.nextRequestId++;
    pending.retryAt = Date.now() + (this.options.sendRetryMs ?? 3_000);
    this.pacer.send(ClientFrame.encode({ requestId: pending.requestId, body: pending.body }).finish());
  }

  private async pullAll(): Promise<void> {
    const limit = this.options.syncPageSize ?? MAX_SYNC_PAGE;
    for (;;) {
      const res = await this.getDiff(this.syncKey, limit);
      if (res.reset) this.emit('reset');
      const inbox = res.messages.filter((m) => isInbox(m));
      const streamReady = this.order.synced(inbox, res.inboxSeq, res.reset);
      const timelines = byStream(res.messages);
      for (const { stream, seq } of res.streams) {
        streamReady.push(...this.timeline(stream).synced(timelines.get(stream) ?? [], seq, res.reset));
      }
      // Shown in the server's order (sending order across the inbox and the timelines), then whatever was waiting.
      const isReady = new Set(streamReady);
      const ready = res.messages.filter((m) => isReady.has(m));
      const inPage = new Set(res.messages);
      ready.push(...streamReady.filter((m) => !inPage.has(m)));
      this.syncKey = res.syncKey;
      this.show(ready);
      this.emit('state', this.state);
      if (!res.hasMore) {
        // The server counted the inbox up to res.inboxSeq; live messages past it are counted on top.
        this.unread.clear();
        for (const c of res.unread) this.unread.set(c.conversation, c.unread);
        const cursors = new Map(res.streams.map((p) => [p.stream, p.seq]));
        for (const m of this.shownLive) {
          if (m.seq > (isInbox(m) ? res.inboxSeq : (cursors.get(m.stream) ?? 0))) this.count(m);
        }
        this.shownLive.length = 0;
        this.emit('unread', this.unread);
        break;
      }
    }
    // Live messages still wait behind a seq that is being written (or abandoned): look again shortly.
    const waiting = this.order.hasWaiting || [...this.timelines.values()].some((t) => t.hasWaiting);
    if (waiting && !this.resyncTimer) {
      this.resyncTimer = setTimeout(() => {
        this.resyncTimer = undefined;
        void this.sync().catch(() => undefined);
      }, 500);
    }
  }

  private show(messages: Message[]): void {
    if (messages.length === 0) return;
    let unreadChanged = false;
    for (const entry of messages) {
      const m = this.encryption ? this.encryption.open(entry) : entry;
      const shown = this.notices.classify(m);
      if (shown.kind === 'hidden') continue;
      unreadChanged = this.count(m) || unreadChanged;
      if (this.syncing) this.shownLive.push(m);
      if (shown.kind === 'notice') this.emit('notice', shown.entry);
      else if (shown.kind === 'noticeRecalled') this.emit('noticeRecalled', shown.noticeId);
      else this.emit('message', m);
    }
    if (unreadChanged) this.emit('unread', this.unread);
    this.ackTimer ??= setTimeout(() => void this.flushAck().catch(() => undefined), 100);
  }

  /** Tells the server what this device has, moving its cursor and the sync_key. */
  private async flushAck(): Promise<void> {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (!this.connected) return;
    // Sessions moved on by the messages opened: saved before the server hears they were received.
    await this.encryption?.save();
    const inboxSeq = this.order.lastSeq;
    const streams = [...this.timelines].map(([stream, order]) => ({ stream, seq: order.lastSeq, index: 0 }));
    const res = expectReply(
      await this.request({ $case: 'ack', value: { syncKey: this.syncKey, inboxSeq, streams } }),
      'ackResult',
    );
    if (res.inboxSeq >= inboxSeq) {
      this.syncKey = res.syncKey;
      this.emit('state', this.state);
    }
  }

  private startTimers(heartbeatMs: number): void {
    this.stopTimers();
    const every = Math.max(1_000, heartbeatMs || 25_000);
    this.pingTimer = setInterval(() => {
      this.request({ $case: 'ping', value: { clientTimeMs: Date.now() } }).catch(() => undefined);
    }, every);
    unref(this.pingTimer);
    this.sendTimer = setInterval(() => {
      const now = Date.now();
      for (const [id, s] of this.sends) {
        if (now <= s.deadline) continue;
        this.sends.delete(id);
        s.reject(new ImError('UNAVAILABLE', 'no send result in time; the message may still arrive'));
      }
      for (const s of this.heads()) if (now >= s.retryAt) this.transmitSend(s);
    }, 100);
    unref(this.sendTimer);
  }

  private stopTimers(): void {
    clearInterval(this.pingTimer);
    clearInterval(this.sendTimer);
    clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
  }
}

function serverError(code: string, message: string, retryAfterMs = 0): ImError {
  return new ImError(isErrorCode(code) ? code : 'INTERNAL', message, retryAfterMs > 0 ? { retryAfterMs } : {});
}

function refusal(status: number, body: string): ImError {
  try {
    const parsed = JSON.parse(body) as { code?: string; message?: string; retryAfterMs?: number };
    if (parsed.code && isErrorCode(parsed.code))
      return serverError(parsed.code, parsed.message ?? `HTTP ${status}`, parsed.retryAfterMs);
  } catch {
    // not JSON: fall through
  }
  return new ImError(
    status === 401 ? 'UNAUTHORIZED' : 'UNAVAILABLE',
    `server refused the connection: HTTP ${status} ${body}`,
  );
}

/**
 * The peer a conversation id names, from `me`'s side: "dm:a:b" is the other user, "group:g" the group, "system"
 * the user's own system notices.
 */
export function peerOf(conversation: string, me: string): Peer {
  if (conversation === 'system') return { kind: { $case: 'system', value: true } };
  if (conversation.startsWith('group:')) return { kind: { $case: 'group', value: conversation.slice(6) } };
  const [, a = '', b = ''] = conversation.split(':');
  return { kind: { $case: 'user', value: a === me ? b : a } };
}

/** Messages of timelines (large groups', the system one), by stream, in arrival order (the inbox is handled apart). */
function byStream(messages: readonly Message[]): Map<string, Message[]> {
  const streams = new Map<string, Message[]>();
  for (const m of messages) {
    if (isInbox(m)) continue;
    const list = streams.get(m.stream);
    if (list) list.push(m);
    else streams.set(m.stream, [m]);
  }
  return streams;
}

/** Entries of the user's own inbox (the rest belong to timelines: a large group's, named by it, or "system"). */
function isInbox(m: Message): boolean {
  return m.stream === 'inbox' || m.stream === '';
}
