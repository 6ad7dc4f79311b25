import { ChatInput } from '../proto/gen/im/v1/bus.pb.ts';
import type { GroupInfo, GroupList, GroupMembers } from '../proto/gen/im/v1/client.pb.ts';
import type { KeyBundles, KeyStatus } from '../proto/gen/im/v1/e2e.pb.ts';
import {
  LogicServiceService,
  type ChangeMembersRequest,
  type CreateGroupRequest,
  type GroupActionRequest,
  type ListGroupsRequest,
  type ListMembersRequest,
  type ListRoomsOfRequest,
  type ListRoomsOfResponse,
  type ListRoomsRequest,
  type ListRoomsResponse,
  type QueryKeysRequest,
  type SetMemberRoleRequest,
  type UploadKeysRequest,
} from '../proto/gen/im/v1/services.pb.ts';
import type { Bus } from '../lib/bus.ts';
import { consume } from '../lib/bus-consumer.ts';
import { ImError } from '../lib/errors.ts';
import type { ApiOf } from '../lib/grpc.ts';
import type { Closeable } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/logger.ts';
import { hopSeconds, stopwatch, wallUs } from '../lib/metrics.ts';
import { PerKeySerial } from '../lib/per-key-serial.ts';
import { topics } from '../lib/topics.ts';
import { coalescedOffline, groupStream, type OfflineApi } from '../offline/index.ts';
import { coalescedPush, type PushApi } from '../push/index.ts';
import type { GroupStore } from './group-store.ts';
import type { KeyDirectory } from './keys/key-directory.ts';
import { KeyService } from './keys/key-service.ts';
import { Groups, type GroupLimits } from './groups.ts';
import type { OutcomeStore } from './outcome-store.ts';
import { roomOf } from './rooms.ts';
import { SendProcessor, type SendLimits, type SystemReads } from './send.ts';

export type LogicApi = ApiOf<typeof LogicServiceService>;
export { LogicServiceService };
export type { GroupStore } from './group-store.ts';
export type { KeyDirectory } from './keys/key-directory.ts';
export type { TagStore } from './notices/tag-store.ts';
export type { OutcomeStore } from './outcome-store.ts';
export {
  startNotices,
  NoticeServiceService,
  type NoticeApi,
  type NoticeStores,
  type RunningNotices,
} from './notices/index.ts';

export interface LogicDeps {
  bus: Bus;
  offline: OfflineApi;
  push: PushApi;
  groups: GroupStore;
  outcomes: OutcomeStore;
  /** The end-to-end key directory (public keys of devices). */
  keys: KeyDirectory;
  limits: SendLimits & { group: GroupLimits; keyClaimsPerUserPerMinute?: number };
  log: Logger;
  /**
   * Merge concurrent calls to offline and push (decision 0012): worth it when they are remote (a gRPC call has a
   * fixed cost); a direct call has none, and merging only adds a turn of the event loop.
   */
  coalesceCalls: boolean;
  /**
   * Resolves once every store write made so far is durable. The embedded data directory commits a turn's writes
   * together (lib/group-commit.ts), and a send is answered and delivered only after that. Absent: a write is durable
   * when it resolves (the engines).
   */
  durable?: () => Promise<void>;
  /** Rooms a user's connections join besides their large groups' (the notice service's: everyone, their tags). */
  noticeRooms?: (user: string) => Promise<string[]>;
  /** The notice service's side of read markers of "system" (send.ts SystemReads). */
  systemReads?: SystemReads;
  /** Keeps a user's mute of a conversation where mobile push reads it (push/mobile/mute-store.ts). */
  setMute?: (user: string, conversation: string, untilMs: number) => Promise<void>;
  /** Fault injection for crash tests: runs after a send is stored and answered, before its offset is committed. */
  afterStored?: () => void;
}

/** Group management and the key directory, callable directly (embedded) or over gRPC (cluster). */
export class Logic implements LogicApi {
  constructor(
    private readonly groups: Groups,
    private readonly keys: KeyService,
    private readonly noticeRooms: (user: string) => Promise<string[]> = () => Promise.resolve([]),
  ) {}

  createGroup(req: CreateGroupRequest): Promise<GroupInfo> {
    return this.groups.create(req);
  }
  addMembers(req: ChangeMembersRequest): Promise<GroupInfo> {
    return this.groups.addMembers(req);
  }
  removeMembers(req: ChangeMembersRequest): Promise<GroupInfo> {
    return this.groups.removeMembers(req);
  }
  listMembers(req: ListMembersRequest): Promise<GroupMembers> {
    return this.groups.listMembers(req);
  }
  leaveGroup(req: GroupActionRequest): Promise<GroupInfo> {
    return this.groups.leave(req);
  }
  dissolveGroup(req: GroupActionRequest): Promise<GroupInfo> {
    return this.groups.dissolve(req);
  }
  setMemberRole(req: SetMemberRoleRequest): Promise<GroupInfo> {
    return this.groups.setRole(req);
  }
  listGroups(req: ListGroupsRequest): Promise<GroupList> {
    return this.groups.listGroups(req);
  }
  async listRooms({ user }: ListRoomsRequest): Promise<ListRoomsResponse> {
    const [groups, notices] = await Promise.all([this.groups.roomsOf(user), this.noticeRooms(user)]);
    return { rooms: [...groups, ...notices] };
  }

  async listRoomsOf({ requests }: ListRoomsOfRequest): Promise<ListRoomsOfResponse> {
    return { responses: await Promise.all(requests.map((r) => this.listRooms(r))) };
  }

  uploadKeys(req: UploadKeysRequest): Promise<KeyStatus> {
    return this.keys.upload(req);
  }
  queryKeys(req: QueryKeysRequest): Promise<KeyBundles> {
    return this.keys.query(req);
  }
}

/** Starts logic: consumes `chat_input` (group `logic`) and answers each send on the connection it came from. */
export async function startLogic(deps: LogicDeps): Promise<{ api: Logic } & Closeable> {
  const log = deps.log;
  const groups = new Groups(
    deps.groups,
    { largeAbove: deps.limits.largeGroupAbove, ...deps.limits.group },
    Date.now,
    async (groupId, { join, leave, added }) => {
      const room = roomOf(groupId);
      try {
        await deps.push.changeRoom({ room, joinUsers: join, leaveUsers: leave });
        if (added.length === 0) return;
        // A new member has not missed the history they can read: their unread count starts at the head.
        const [head] = (await deps.offline.getHeads({ streams: [groupStream(groupId)] })).heads;
        if (!head?.index) return;
        const timelineRead = added.map((user) => ({ user, conversation: room, index: head.index }));
        await deps.offline.updateUnread({ arrived: [], recalled: [], read: [], timelineRead });
      } catch (err) {
        // A member who missed joining the room sees the next message's prev_seq gap and syncs.
        log.warn({ err, room }, 'large group change not applied in full');
      }
    },
  );
  const sends = new SendProcessor({
    ...deps,
    offline: deps.coalesceCalls ? coalescedOffline(deps.offline) : deps.offline,
    push: deps.coalesceCalls ? coalescedPush(deps.push) : deps.push,
    groups,
  });
  // The bus hands one conversation's records over one at a time, but a consumer that lost Kafka and was replaced can
  // still be handling a record that its successor is handed again: both would find no outcome and store the send
  // twice, under two server ids (the chaos run found one after a Kafka restart). In this process, never two at once.
  const oneAtATime = new PerKeySerial();
  const sub = await consume(deps.bus, {
    topic: topics.chatInput.name,
    group: 'logic',
    decode: (value) => ChatInput.decode(value),
    log,
    handle: (input, record) =>
      oneAtATime.run(record.key, async () => {
        if (input.receivedAtUs > 0) hopSeconds.observe({ hop: 'bus.to_logic' }, (wallUs() - input.receivedAtUs) / 1e6);
        const timer = stopwatch();
        try {
          await sends.process(input, timer);
          deps.afterStored?.();
        } catch (err) {
          // A send that can never succeed is answered; anything else (a store is down) is retried by the bus.
          if (!(err instanceof ImError) || err.code === 'INTERNAL' || err.code === 'UNAVAILABLE') throw err;
          await sends.answer(input, {
            $case: 'error',
            value: { code: err.code, message: err.message, retryAfterMs: 0 },
          });
        }
      }),
  });
  return {
    api: new Logic(
      groups,
      new KeyService(deps.keys, { claimsPerUserPerMinute: deps.limits.keyClaimsPerUserPerMinute }),
      deps.noticeRooms,
    ),
    close: () => sub.close(),
  };
}
