import type { ChatInput } from '../proto/gen/im/v1/bus.pb.ts';
import type { Message, MessageOp, MessageRef, ReadMarker, SendResult } from '../proto/gen/im/v1/message.pb.ts';
import type { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';
import { ServerFrame } from '../proto/gen/im/v1/client.pb.ts';
import type { SendToConnectionRequest, UpdateUnreadRequest } from '../proto/gen/im/v1/services.pb.ts';
import {
  assertId,
  dmConversation,
  groupConversation,
  groupIdOf,
  isGroupConversation,
  SYSTEM_CONVERSATION,
} from '../lib/conversation.ts';
import { echo } from '../lib/echo.ts';
import { ImError } from '../lib/errors.ts';
import { newServerMsgId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { stopwatch, timed, type Stopwatch } from '../lib/metrics.ts';
import { tombstone, type OfflineApi } from '../offline/index.ts';
import type { PushApi } from '../push/index.ts';
import type { Groups } from './groups.ts';
import { groupStream, isGroupStream, SYSTEM_STREAM } from '../offline/index.ts';
import { outcomeKey, type OutcomeStore } from './outcome-store.ts';

export interface SendLimits {
  maxBodyBytes: number;
  /** How long a client_msg_id is remembered: a retry within it returns the first result. */
  dedupeTtlMs: number;
  /** How long after sending a message its sender may recall it. At most dedupeTtlMs (see checkSendLimits). */
  recallWindowMs: number;
  /** How long after sending a message its sender may edit it. At most dedupeTtlMs (see checkSendLimits). */
  editWindowMs: number;
  /** How many times one message may be edited (0: not at all). */
  maxEditsPerMessage: number;
  /** Groups with more members than this get read fan-out: the message is stored once, in the group's timeline. */
  largeGroupAbove: number;
  /**
   * How long an allocated seq holds readers below it (the sequencer's in-flight TTL): a send retried after that gets
   * new seqs where its rows are missing (see renewLapsedSeqs). Absent: never renewed.
   */
  seqInFlightTtlMs?: number;
}

/**
 * Refuses windows that outlive what they rely on: a recall or an edit finds the original through its outcome
 * record, which is kept dedupeTtlMs; past that the change would fail as NOT_FOUND, not as the window says.
 */
export function checkSendLimits(limits: SendLimits): void {
  for (const name of ['recallWindowMs', 'editWindowMs'] as const) {
    if (limits[name] > limits.dedupeTtlMs) {
      throw new Error(
        `logic: ${name} (${limits[name]} ms) is longer than dedupeTtlMs (${limits.dedupeTtlMs} ms), the life of ` +
          'the outcome records that recalls and edits look the original up in',
      );
    }
  }
}

const CLIENT_MSG_ID = /^[\x21-\x7e]{1,64}$/;
const CONTENT_TYPE = /^[\x21-\x7e]{1,64}$/;

/**
 * One upstream send, start to finish. The outcome (server_msg_id and every recipient's seq) is recorded before
 * any inbox row is written, so a replay after a crash, or a client's retry, rewrites the same rows.
 */
export class SendProcessor {
  constructor(
    private readonly deps: {
      offline: OfflineApi;
      push: PushApi;
      groups: Groups;
      outcomes: OutcomeStore;
      /** Resolves once the stores' writes so far are durable (LogicDeps.durable). */
      durable?: () => Promise<void>;
      limits: SendLimits;
      log: Logger;
      now?: () => number;
      systemReads?: SystemReads;
      /** Keeps a user's mute of a conversation where mobile push reads it (LogicDeps.setMute). */
      setMute?: (user: string, conversation: string, untilMs: number) => Promise<void>;
    },
  ) {
    checkSendLimits(deps.limits);
  }

  /**
   * Stores the send, answers the sender's connection (with the deliveries, in the same calls) and delivers;
   * `timer` records each step as a hop of the per-hop breakdown (lib/metrics.ts).
   */
  async process(input: ChatInput, timer = stopwatch()): Promise<SendResult> {
    const send = input.send;
    if (!send) throw new ImError('BAD_FRAME', 'send request missing');
    if (!CLIENT_MSG_ID.test(send.clientMsgId))
      throw new ImError('INVALID_ARGUMENT', 'client_msg_id must be 1-64 printable ASCII characters');
    const key = outcomeKey(input.user, input.device, send.clientMsgId);
    const { outcomes, limits } = this.deps;
    const known = await outcomes.get(key);
    timer.lap('logic.dedupe');
    if (known?.done) {
      await this.deps.durable?.();
      const result = resultFor(known, input.user);
      await this.answer(input, { $case: 'sendResult', value: result });
      return result;
    }
    const outcome = known ? await this.renewLapsedSeqs(key, known) : await this.decide(input, key, timer);
    await this.store(outcome, timer);
    const result = resultFor(outcome, input.user);
    // Stored: the done mark and online delivery (the sender's answer with it) do not wait for each other.
    const tell = async () => {
      await Promise.all([
        timed('logic.done', outcomes.markDone(key, limits.dedupeTtlMs)),
        timed('logic.deliver', this.deliver(outcome, answerFor(input, { $case: 'sendResult', value: result }))),
      ]);
    };
    const durable = this.deps.durable;
    if (!durable) {
      await tell();
      return result;
    }
    // Nobody hears of a message before it is durable, not the sender, not a recipient. The conversation's next
    // message need not wait for this commit: commits keep their order, and the answers after them theirs.
    durable()
      .then(tell)
      .catch((err: unknown) => this.deps.log.warn({ err }, 'a send was not committed: its sender retries'));
    return result;
  }

  private async decide(input: ChatInput, key: string, timer: Stopwatch): Promise<SendOutcome> {
    const send = input.send!;
    const { limits } = this.deps;
    const contentType = send.contentType || 'text/plain';
    const op = send.op?.kind;
    if (!CONTENT_TYPE.test(contentType))
      throw new ImError('INVALID_ARGUMENT', 'content_type must be 1-64 printable ASCII characters');
    if (op?.$case !== 'read' && op?.$case !== 'recall' && op?.$case !== 'mute') {
      if (send.body.length === 0) throw new ImError('INVALID_ARGUMENT', 'message body is empty');
    }
    if (send.body.length > limits.maxBodyBytes) {
      throw new ImError('TOO_LARGE', `message body is ${send.body.length} bytes; the limit is ${limits.maxBodyBytes}`);
    }
    const { conversation, recipients, messageOp, prevSeq, streamIndex } = await this.resolveOp(input);
    timer.lap('logic.resolve');
    const seqs = await this.deps.offline.allocateSeqs({ users: recipients });
    timer.lap('logic.seq');
    const message: Message = {
      serverMsgId: newServerMsgId(),
      conversation,
      fromUser: input.user,
      fromDevice: input.device,
      clientMsgId: send.clientMsgId,
      seq: 0,
      stream: recipients.length === 1 && isGroupStream(recipients[0]!) ? conversation : 'inbox',
      prevSeq: prevSeq ?? 0,
      streamIndex: streamIndex ?? 0,
      sentAtMs: (this.deps.now ?? Date.now)(),
      contentType,
      body: Buffer.from(send.body),
      op: messageOp,
    };
    const ours: SendOutcome = {
      message,
      recipients: recipients.map((user, i) => ({ user, seq: seqs.seqs[i]! })),
      done: false,
      edits: [],
    };
    // If a concurrent attempt recorded first, its seqs win; ours become gaps, which readers tolerate.
    const recorded = await this.deps.outcomes.putIfAbsent(key, ours, limits.dedupeTtlMs);
    timer.lap('logic.outcome');
    return recorded;
  }

  /**
   * A send retried after its first attempt stopped before its rows were written (the inbox store was down) may come
   * back after its seqs' in-flight marks lapsed: readers have moved past those seqs since, as gaps, and rows written
   * there now would sit behind every cursor, stored and never seen. So past half the in-flight TTL, each recipient
   * whose row is not at its seq gets a new seq (a large group's timeline its new place at the head) and the outcome
   * is recorded anew; the old seqs stay gaps. A recipient whose row was written in time keeps it. Sends of one
   * conversation are handled one at a time, so no other attempt changes this outcome meanwhile.
   */
  private async renewLapsedSeqs(key: string, outcome: SendOutcome): Promise<SendOutcome> {
    const ttl = this.deps.limits.seqInFlightTtlMs;
    const message = outcome.message!;
    if (ttl === undefined || (this.deps.now ?? Date.now)() - message.sentAtMs < ttl / 2) return outcome;
    const { offline } = this.deps;
    // What is stored, not what readers may see yet: rows an attempt wrote before it died hide behind their own
    // in-flight marks until those lapse, and renewing them would store the message twice.
    const { entries } = await offline.getEntries({ refs: outcome.recipients });
    const written = outcome.recipients.map(
      ({ seq }, i) => entries[i]?.seq === seq && entries[i].serverMsgId === message.serverMsgId,
    );
    const missing = outcome.recipients.filter((_, i) => !written[i]).map((r) => r.user);
    if (missing.length === 0) return outcome;
    const { seqs } = await offline.allocateSeqs({ users: missing });
    const renewed = new Map(missing.map((user, i) => [user, seqs[i]!]));
    const timeline = missing.find(isGroupStream);
    const head = timeline ? (await offline.getHeads({ streams: [timeline] })).heads[0] : undefined;
    const placed = timeline ? { prevSeq: head?.seq ?? 0, streamIndex: (head?.index ?? 0) + (message.op ? 0 : 1) } : {};
    const next: SendOutcome = {
      ...outcome,
      message: { ...message, ...placed },
      recipients: outcome.recipients.map((r) => ({ user: r.user, seq: renewed.get(r.user) ?? r.seq })),
    };
    await this.deps.outcomes.replace(key, next);
    this.deps.log.warn({ key, renewed: missing.length }, 'a send retried after its seqs lapsed was given new ones');
    return next;
  }

  /**
   * Who an entry goes to. A message: the conversation's members. A read marker: the reader's own devices only.
   * A recall: exactly who got the original. An edit: who got the original and is still a member (decision 0019).
   */
  private async resolveOp(input: ChatInput): Promise<Resolved & { messageOp?: MessageOp }> {
    const op = input.send?.op?.kind;
    if (!op) return this.resolve(input);
    switch (op.$case) {
      case 'read': {
        const { conversation } = await this.resolve(input);
        const { seq } = op.value;
        if (!(seq > 0)) throw new ImError('INVALID_ARGUMENT', 'a read marker needs the seq read up to');
        const stream = op.value.stream || 'inbox';
        if (stream !== 'inbox' && stream !== conversation) {
          throw new ImError('INVALID_ARGUMENT', `a read marker's stream is "inbox" or its conversation's timeline`);
        }
        if (stream === conversation) await this.timelineIndexAt(conversation, seq); // refuses a seq not there
        return {
          conversation,
          recipients: [input.user],
          messageOp: { kind: { $case: 'read', value: { conversation, seq, stream, unread: 0 } } },
        };
      }
      case 'mute': {
        // Like a read marker: the user's own devices learn it through their inbox.
        const { conversation } = await this.resolve(input);
        const untilMs = op.value.untilMs;
        if (!Number.isSafeInteger(untilMs) || untilMs < 0) {
          throw new ImError('INVALID_ARGUMENT', 'a mute lasts until a time in ms since the epoch, or 0 to unmute');
        }
        return {
          conversation,
          recipients: [input.user],
          messageOp: { kind: { $case: 'mute', value: { conversation, untilMs } } },
        };
      }
      case 'recall':
      case 'edit': {
        const ref = op.value;
        const targetKey = outcomeKey(input.user, ref.fromDevice, ref.clientMsgId);
        const target = await this.deps.outcomes.get(targetKey);
        const original = target?.message;
        if (!target || !original) {
          throw new ImError('NOT_FOUND', 'no message of yours with that client_msg_id (or it is too old to change)');
        }
        if (original.op) throw new ImError('INVALID_ARGUMENT', 'only messages can be recalled or edited');
        // The bus keys a record by the conversation it names: only the original's keeps a change in order with the
        // original and its other changes (and the edit count below free of races).
        if (addressed(input) !== original.conversation) {
          throw new ImError('INVALID_ARGUMENT', `a ${op.$case} goes to the conversation of the message changed`);
        }
        const recipients =
          op.$case === 'recall' ? this.checkRecall(target) : await this.checkEdit(input, targetKey, target);
        const value = { fromDevice: ref.fromDevice, clientMsgId: ref.clientMsgId, serverMsgId: original.serverMsgId };
        const timeline = target.recipients.find((r) => isGroupStream(r.user))?.user;
        const head = timeline ? (await this.deps.offline.getHeads({ streams: [timeline] })).heads[0] : undefined;
        return {
          // An operation follows the timeline's head and is not a message of its own: the index stays.
          ...(timeline ? { prevSeq: head?.seq ?? 0, streamIndex: head?.index ?? 0 } : {}),
          conversation: original.conversation,
          recipients,
          messageOp: { kind: op.$case === 'recall' ? { $case: 'recall', value } : { $case: 'edit', value } },
        };
      }
    }
  }

  /** Who gets a recall. Recalling stays open to a sender removed from the group since: it only takes content away. */
  private checkRecall(target: SendOutcome): string[] {
    const { recallWindowMs } = this.deps.limits;
    if ((this.deps.now ?? Date.now)() - target.message!.sentAtMs > recallWindowMs) {
      throw new ImError('FORBIDDEN', `messages can be recalled within ${recallWindowMs / 1000} s of sending`);
    }
    return target.recipients.map((r) => r.user);
  }

  /**
   * An edit is new content, so it obeys what a send does: the editor is still a member of a group not dissolved,
   * and it reaches only those who got the original and are still members. Within the edit window and the limit
   * per message, counted in the original's outcome under the edit's own (device, client_msg_id), before the edit's
   * outcome is recorded: a replay finds itself counted and goes on.
   */
  private async checkEdit(input: ChatInput, targetKey: string, target: SendOutcome): Promise<string[]> {
    const { limits, groups, outcomes } = this.deps;
    const original = target.message!;
    let recipients = target.recipients.map((r) => r.user);
    if (isGroupConversation(original.conversation)) {
      const groupId = groupIdOf(original.conversation);
      await groups.requireMember(groupId, input.user);
      if (!recipients.some(isGroupStream)) {
        const members = new Set(await groups.members(groupId));
        recipients = recipients.filter((user) => members.has(user));
      }
    }
    if (original.recalled) throw new ImError('FORBIDDEN', 'a recalled message cannot be edited');
    if ((this.deps.now ?? Date.now)() - original.sentAtMs > limits.editWindowMs) {
      throw new ImError('FORBIDDEN', `messages can be edited within ${limits.editWindowMs / 1000} s of sending`);
    }
    const edit: MessageRef = { fromDevice: input.device, clientMsgId: input.send!.clientMsgId, serverMsgId: '' };
    if (!target.edits.some((e) => e.fromDevice === edit.fromDevice && e.clientMsgId === edit.clientMsgId)) {
      if (target.edits.length >= limits.maxEditsPerMessage) {
        throw new ImError('FORBIDDEN', `a message can be edited at most ${limits.maxEditsPerMessage} times`);
      }
      await outcomes.replace(targetKey, { ...target, edits: [...target.edits, edit] });
    }
    return recipients;
  }

  private async resolve(input: ChatInput): Promise<Resolved> {
    const to = input.send?.to?.kind;
    switch (to?.$case) {
      case 'user': {
        const peer = assertId('user', to.value);
        return { conversation: dmConversation(input.user, peer), recipients: [...new Set([input.user, peer])] };
      }
      case 'system':
        if (input.send?.op?.kind?.$case !== 'read' && input.send?.op?.kind?.$case !== 'mute') {
          throw new ImError('FORBIDDEN', 'system notices come from apps: only read markers go to "system"');
        }
        return { conversation: SYSTEM_CONVERSATION, recipients: [input.user] };
      case 'group': {
        await this.deps.groups.requireMember(to.value, input.user);
        const conversation = groupConversation(to.value);
        // The stored count decides, so a large group's send never reads its member list.
        if ((await this.deps.groups.count(to.value)) <= this.deps.limits.largeGroupAbove) {
          return { conversation, recipients: await this.deps.groups.members(to.value) };
        }
        // Read fan-out: one entry in the group's timeline. This conversation is processed in order, so the
        // timeline's head is the message before this one: clients use it to see a gap in live delivery.
        const stream = groupStream(to.value);
        const [head] = (await this.deps.offline.getHeads({ streams: [stream] })).heads;
        return { conversation, recipients: [stream], prevSeq: head?.seq ?? 0, streamIndex: (head?.index ?? 0) + 1 };
      }
      case undefined:
        throw new ImError('INVALID_ARGUMENT', 'send needs a recipient: a user or a group');
      default:
        return assertNever(to);
    }
  }

  private async store(outcome: SendOutcome, timer: Stopwatch): Promise<void> {
    const template = outcome.message!;
    const op = template.op?.kind;
    const { offline } = this.deps;
    if (op?.$case === 'read') {
      // The marker first, so the entry every device gets carries the count it left.
      op.value.unread = await this.markRead(template.fromUser, op.value);
    }
    if (op?.$case === 'mute') await this.deps.setMute?.(template.fromUser, op.value.conversation, op.value.untilMs);
    let unread: UpdateUnreadRequest | undefined;
    if (!op) {
      // Counted before the row is visible (offline applies it first), so a sync that sees the message also sees
      // it counted. A large group's message is counted by its index. Whoever sends has read the conversation up
      // to their message.
      const conversation = template.conversation;
      const arrived = outcome.recipients
        .filter(({ user }) => user !== template.fromUser && !isGroupStream(user))
        .map(({ user, seq }) => ({ user, conversation, seq }));
      const own = outcome.recipients.find(({ user }) => user === template.fromUser);
      const onTimeline = outcome.recipients.some(({ user }) => isGroupStream(user));
      unread = {
        arrived,
        recalled: [],
        read: own ? [{ user: own.user, conversation, seq: own.seq }] : [],
        timelineRead: onTimeline ? [{ user: template.fromUser, conversation, index: template.streamIndex }] : [],
      };
    }
    await offline.writeInbox({
      entries: outcome.recipients.map(({ user, seq }) => ({ user, message: { ...template, seq } })),
      unread,
    });
    timer.lap('logic.inbox');
    if (op?.$case === 'recall') await this.takeBack(template.fromUser, op.value, template.conversation);
  }

  /**
   * What a recall does besides its own entry: the message's content leaves storage. Its rows and its edits' rows
   * become tombstones, it stops counting as unread, then the outcome records lose their bodies (the original's,
   * marked recalled, refuses later edits). Each step is idempotent: a replayed recall does them all again.
   */
  private async takeBack(user: string, ref: MessageRef, conversation: string): Promise<void> {
    const { offline, outcomes } = this.deps;
    const targetKey = outcomeKey(user, ref.fromDevice, ref.clientMsgId);
    const target = await outcomes.get(targetKey);
    if (!target) return;
    const editKeys = target.edits.map((e) => outcomeKey(user, e.fromDevice, e.clientMsgId));
    const edits = await Promise.all(editKeys.map((key) => outcomes.get(key)));
    const changed = [{ key: targetKey, outcome: target }, ...editKeys.map((key, i) => ({ key, outcome: edits[i] }))];
    const stored = changed.filter((c): c is { key: string; outcome: SendOutcome } => c.outcome?.message !== undefined);
    await offline.redactInbox({ entries: stored.flatMap(({ outcome }) => outcome.recipients) });
    const recalled = target.recipients.map(({ user, seq }) => ({ user, conversation, seq }));
    await offline.updateUnread({ arrived: [], recalled, read: [], timelineRead: [] });
    await Promise.all(
      stored.map(({ key, outcome }) => outcomes.replace(key, { ...outcome, message: tombstone(outcome.message!) })),
    );
  }

  /**
   * Applies a read marker (an inbox seq, or a seq of the conversation's large-group timeline) and returns the
   * conversation's unread count left: inbox entries plus timeline messages past the timeline marker.
   */
  private async markRead(user: string, marker: ReadMarker): Promise<number> {
    const { offline } = this.deps;
    const { conversation, seq, stream } = marker;
    const onTimeline = stream === conversation;
    if (conversation === SYSTEM_CONVERSATION && this.deps.systemReads) {
      return this.markSystemRead(user, seq, onTimeline, this.deps.systemReads);
    }
    const marked = await offline.updateUnread({
      arrived: [],
      recalled: [],
      read: onTimeline ? [] : [{ user, conversation, seq }],
      timelineRead: onTimeline ? [{ user, conversation, index: await this.timelineIndexAt(conversation, seq) }] : [],
    });
    const timeline = isGroupConversation(conversation) ? groupStream(groupIdOf(conversation)) : undefined;
    if (!timeline) return marked.unreadAfterRead[0] ?? 0;
    const [[head], unread] = await Promise.all([
      offline.getHeads({ streams: [timeline] }).then((r) => r.heads),
      offline.getUnread({ user, throughSeq: 0, timelines: [conversation] }),
    ]);
    const inboxLeft = unread.conversations.find((c) => c.conversation === conversation)?.unread ?? 0;
    return inboxLeft + Math.max(0, (head?.index ?? 0) - (unread.timelineMarks[0] ?? 0));
  }

  /**
   * A read marker of the user's system notices: the notices it newly covers are counted as read (each marker moves
   * forward only, so a replayed one counts nothing), and the count left is the inbox's plus the timeline's.
   */
  private async markSystemRead(user: string, seq: number, onTimeline: boolean, reads: SystemReads): Promise<number> {
    const { offline } = this.deps;
    const conversation = SYSTEM_CONVERSATION;
    const marks = async () => {
      const unread = await offline.getUnread({ user, throughSeq: 0, timelines: [conversation] });
      const inbox = unread.conversations.find((c) => c.conversation === conversation);
      return { inboxRead: inbox?.readSeq ?? 0, inboxLeft: inbox?.unread ?? 0, timeline: unread.timelineMarks[0] ?? 0 };
    };
    const before = await marks();
    await offline.updateUnread({
      arrived: [],
      recalled: [],
      read: onTimeline ? [] : [{ user, conversation, seq }],
      timelineRead: onTimeline ? [{ user, conversation, index: await this.timelineIndexAt(conversation, seq) }] : [],
    });
    const from = onTimeline ? before.timeline : before.inboxRead;
    if (seq > from) {
      const page = await offline.readInbox({ user: onTimeline ? SYSTEM_STREAM : user, afterSeq: from, limit: 1000 });
      const covered = page.messages.filter((m) => m.seq <= seq && m.notice && !m.op && !m.recalled);
      await reads.read(user, covered).catch((err: unknown) => this.deps.log.warn({ err }, 'notice reads not counted'));
    }
    const after = await marks();
    return after.inboxLeft + (await reads.unreadOnTimeline(user, after.timeline));
  }

  /** The stream_index of the message at `seq` in a large group's timeline; INVALID_ARGUMENT if there is none. */
  private async timelineIndexAt(conversation: string, seq: number): Promise<number> {
    // The system timeline's marker is a seq: its unread count depends on each reader (sync/system-timeline.ts).
    if (conversation === SYSTEM_CONVERSATION) {
      const [head] = (await this.deps.offline.getHeads({ streams: [SYSTEM_STREAM] })).heads;
      if (seq <= (head?.seq ?? 0)) return seq;
    } else if (isGroupConversation(conversation)) {
      const page = await this.deps.offline.readInbox({
        user: groupStream(groupIdOf(conversation)),
        afterSeq: seq - 1,
        limit: 1,
      });
      const found = page.messages[0];
      if (found?.seq === seq) return found.streamIndex;
    }
    throw new ImError('INVALID_ARGUMENT', `no message with seq ${seq} in the timeline of ${conversation}`);
  }

  /** Online delivery is best effort: the inbox already holds the message and clients sync for anything missed. */
  private async deliver(outcome: SendOutcome, answer: SendToConnectionRequest | undefined): Promise<void> {
    const template = outcome.message!;
    try {
      const timeline = outcome.recipients.find((r) => isGroupStream(r.user));
      if (timeline) {
        // A large group's message is the same for every member: one frame to the group's room on each node.
        const room = this.deps.push.deliverToRoom({
          room: template.conversation,
          message: { ...template, seq: timeline.seq },
        });
        await Promise.all([room, this.sendAnswer(answer)]);
        return;
      }
      const deliveries = outcome.recipients.map(({ user, seq }) => ({ user, message: { ...template, seq } }));
      await this.deps.push.deliverMessages({ deliveries, direct: answer ? [answer] : [] });
    } catch (err) {
      // The sender retries with the same client_msg_id and gets the recorded result; recipients sync.
      this.deps.log.warn({ err, serverMsgId: template.serverMsgId }, 'online delivery failed; recipients will sync');
    }
  }

  /** Answers the connection the send came from on its own (a recorded result, or an error). */
  answer(input: ChatInput, body: ServerFrame['body']): Promise<void> {
    return this.sendAnswer(answerFor(input, body));
  }

  private async sendAnswer(answer: SendToConnectionRequest | undefined): Promise<void> {
    if (!answer) return;
    try {
      await this.deps.push.sendToConnection(answer);
    } catch (err) {
      // The client retries with the same client_msg_id and gets the recorded result.
      this.deps.log.warn({ err, node: answer.node }, 'could not answer the sender');
    }
  }
}

/**
 * What the notice service does with read markers of "system": counts who read each notice (its delivery status), and
 * says how many notices of the system timeline past a marker are still unread for the user (their tags decide).
 */
export interface SystemReads {
  read(user: string, entries: readonly Message[]): Promise<void>;
  unreadOnTimeline(user: string, afterSeq: number): Promise<number>;
}

interface Resolved {
  conversation: string;
  recipients: string[];
  /** Timeline entries: the head before this one, and this entry's stream_index. */
  prevSeq?: number;
  streamIndex?: number;
}

/** The conversation a send names in `to`: what the gateway keyed its bus record by. */
function addressed(input: ChatInput): string {
  const to = input.send?.to?.kind;
  switch (to?.$case) {
    case 'user':
      return dmConversation(input.user, assertId('user', to.value));
    case 'group':
      return groupConversation(assertId('group', to.value));
    case 'system':
      return SYSTEM_CONVERSATION;
    case undefined:
      throw new ImError('INVALID_ARGUMENT', 'send needs a recipient: a user or a group');
    default:
      return assertNever(to);
  }
}

/** A frame for the connection the send came from, answering its request (none for a send without an origin). */
function answerFor(input: ChatInput, body: ServerFrame['body']): SendToConnectionRequest | undefined {
  const origin = input.origin;
  if (!origin) return undefined;
  const frame = ServerFrame.encode({ requestId: origin.requestId, body });
  return { node: origin.node, connId: origin.connId, frame: Buffer.from(frame.finish()) };
}

function resultFor(outcome: SendOutcome, sender: string): SendResult {
  const m = outcome.message!;
  return {
    clientMsgId: m.clientMsgId,
    serverMsgId: m.serverMsgId,
    conversation: m.conversation,
    seq: outcome.recipients.find((r) => r.user === sender || isGroupStream(r.user))?.seq ?? 0,
    sentAtMs: m.sentAtMs,
  };
}

/** Names only the case, bounded: the value is the client's and may be of any size. */
function assertNever(value: never): never {
  throw new ImError('INVALID_ARGUMENT', `unknown recipient kind ${echo(String((value as { $case?: unknown }).$case))}`);
}
