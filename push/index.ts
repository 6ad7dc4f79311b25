import { ServerFrame } from '../proto/gen/im/v1/client.pb.ts';
import type { Message } from '../proto/gen/im/v1/message.pb.ts';
import { UserState } from '../proto/gen/im/v1/bus.pb.ts';
import type {
  ChangeRoomRequest,
  ChangeRoomResponse,
  DeliverToRoomRequest,
  DeliverToRoomResponse,
  DeliverMessagesRequest,
  DeliverMessagesResponse,
  FrameToConnections,
  SendToConnectionRequest,
  SendToConnectionResponse,
  RegisterDeviceRequest,
  DeviceRef,
  ListDevicesRequest,
  ListDevicesResponse,
  ListDeadLettersRequest,
  DeadLetterList,
  ReplayDeadLettersRequest,
  ReplayDeadLettersResponse,
} from '../proto/gen/im/v1/services.pb.ts';
import type { DeadLetterStore } from './mobile/dead-letter-store.ts';
import type { PushDevice } from '../proto/gen/im/v1/client.pb.ts';
import type { PushJob } from '../proto/gen/im/v1/bus.pb.ts';
import { ImError } from '../lib/errors.ts';
import type { Devices } from './mobile/devices.ts';
import type { Bus } from '../lib/bus.ts';
import { consume } from '../lib/bus-consumer.ts';
import type { Closeable } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/logger.ts';
import { stopwatch } from '../lib/metrics.ts';
import { topics } from '../lib/topics.ts';
import type { OfflineApi } from '../offline/index.ts';
import type { GatewayDirectory } from './gateway-directory.ts';
import type { RouteTable } from './route-table.ts';

import type { PushApi } from './api.ts';
import { deliverFrames } from './deliver-frames.ts';

export { PushServiceService, type PushApi } from './api.ts';
export type { Route, RouteRef, RouteTable } from './route-table.ts';
export type { GatewayDirectory } from './gateway-directory.ts';
export { coalescedPush } from './coalesced.ts';
export { pushAdminHttpHandler } from './mobile/admin-http.ts';
export { deviceHttpHandler } from './mobile/device-http.ts';

export interface PushOptions {
  /** Messages per inbox read when a device catches up on coming online. */
  catchUpPageSize: number;
  /** Bytes per Deliver frame of a catch-up at most (a frame over a connection's send queue cuts it off). */
  catchUpMaxBytes: number;
  /** Catch-up stops after this many; the client syncs for the rest. */
  catchUpMax: number;
}

export interface PushDeps {
  routes: RouteTable;
  gateways: GatewayDirectory;
  offline: OfflineApi;
  log: Logger;
  options: PushOptions;
  /** Devices' mobile push registrations (absent: this process does not manage them). */
  devices?: Devices;
  /** Where stored messages go to be considered for mobile pushes (push/mobile/notifier.ts); absent: none. */
  mobile?: (jobs: PushJob[]) => Promise<void>;
  /** The mobile pushes given up on, and how to send them again (the process that runs the notifier). */
  deadLetters?: { store: DeadLetterStore; replay: (ids: readonly string[]) => Promise<number> };
}

/** How long a catch-up waits for a client that does not read before leaving the rest to its sync. */
const CATCH_UP_PATIENCE_MS = 10_000;

/** Online delivery: an accelerator on top of the inbox, which stays the truth (clients sync to fill any gap). */
export class Push implements PushApi {
  constructor(private readonly deps: PushDeps) {}

  async deliverMessages({ deliveries, direct }: DeliverMessagesRequest): Promise<DeliverMessagesResponse> {
    const byUser = new Map<string, Message[]>();
    for (const { user, message } of deliveries) if (message) append(byUser, user, message);
    const timer = stopwatch();
    const routes = await this.deps.routes.lookup([...byUser.keys()]);
    timer.lap('push.routes');
    const byNode = new Map<string, FrameToConnections[]>();
    for (const [user, userRoutes] of routes) {
      // One encoding per user: every device of the user gets the same frame (the seq is per inbox).
      const frame = encodeDeliver(byUser.get(user)!);
      for (const [node, nodeRoutes] of groupBy(userRoutes, (r) => r.node)) {
        append(byNode, node, { connIds: nodeRoutes.map((r) => r.connId), frame, ifRoom: false });
      }
    }
    for (const { node, connId, frame } of direct) append(byNode, node, { connIds: [connId], frame, ifRoom: false });
    const delivered = await Promise.all([...byNode].map(([node, items]) => this.toNode(node, items)));
    timer.lap('push.gateways');
    await this.toMobile(deliveries);
    return { delivered: delivered.reduce((a, b) => a + b, 0) };
  }

  /**
   * Stored messages to be considered for mobile pushes (the notifier decides per device): every recipient but the
   * sender, messages only. Handed over, not waited for: it never holds up online delivery.
   */
  private async toMobile(deliveries: readonly { user: string; message?: Message }[]): Promise<void> {
    if (!this.deps.mobile) return;
    const storedAtMs = Date.now();
    const jobs = deliveries
      .filter(({ user, message }) => message && !message.op && message.fromUser !== user)
      .map(({ user, message }) => ({ user, message, storedAtMs, audience: '' }));
    if (jobs.length === 0) return;
    await this.deps.mobile(jobs).catch((err: unknown) => this.deps.log.warn({ err }, 'mobile push jobs not queued'));
  }

  /** A message stored once for a room's audience: one job, the notifier pages through the audience itself. */
  private async toMobileAudience(audience: string, message: Message): Promise<void> {
    if (!this.deps.mobile || message.op) return;
    const job = { user: '', audience, message, storedAtMs: Date.now() };
    await this.deps.mobile([job]).catch((err: unknown) => this.deps.log.warn({ err }, 'mobile push job not queued'));
  }

  /** One encoding, one Deliver call per gateway node: each node writes it to its connections in the room. */
  async deliverToRoom({ room, message }: DeliverToRoomRequest): Promise<DeliverToRoomResponse> {
    if (!message) return { delivered: 0, gatewayCalls: 0 };
    await this.toMobileAudience(room, message);
    const rooms = [{ room, frame: encodeDeliver([message]) }];
    const nodes = await this.deps.gateways.nodes();
    const delivered = await Promise.all(
      nodes.map(async (node) => {
        const gateway = await this.deps.gateways.get(node);
        if (!gateway) return 0;
        try {
          return (await gateway.deliver({ items: [], rooms })).delivered;
        } catch (err) {
          this.deps.log.warn({ err, node, room }, 'room delivery failed; members will sync');
          return 0;
        }
      }),
    );
    return { delivered: delivered.reduce((a, b) => a + b, 0), gatewayCalls: nodes.length };
  }

  /** Joins (or takes out) every online connection of the users named, on whichever node holds it. */
  async changeRoom({ room, joinUsers, leaveUsers }: ChangeRoomRequest): Promise<ChangeRoomResponse> {
    const routes = await this.deps.routes.lookup([...new Set([...joinUsers, ...leaveUsers])]);
    const byNode = new Map<string, { join: string[]; leave: string[] }>();
    const add = (users: string[], side: 'join' | 'leave') => {
      for (const user of users) {
        for (const r of routes.get(user) ?? []) {
          let changes = byNode.get(r.node);
          if (!changes) byNode.set(r.node, (changes = { join: [], leave: [] }));
          changes[side].push(r.connId);
        }
      }
    };
    add(joinUsers, 'join');
    add(leaveUsers, 'leave');
    const changed = await Promise.all(
      [...byNode].map(async ([node, { join, leave }]) => {
        const changes = [
          { room, connIds: join, join: true },
          { room, connIds: leave, join: false },
        ].filter((c) => c.connIds.length > 0);
        return this.changeRooms(node, changes);
      }),
    );
    return { changed: changed.reduce((a, b) => a + b, 0) };
  }

  registerDevice({ user, device, registration }: RegisterDeviceRequest): Promise<PushDevice> {
    if (!registration) throw new ImError('INVALID_ARGUMENT', 'registration missing');
    return this.devicesOrRefuse().register(user, device, registration);
  }

  unregisterDevice({ user, device }: DeviceRef): Promise<PushDevice> {
    return this.devicesOrRefuse().unregister(user, device);
  }

  async listDevices({ user }: ListDevicesRequest): Promise<ListDevicesResponse> {
    return { devices: await this.devicesOrRefuse().list(user) };
  }

  async listDeadLetters({ after, limit }: ListDeadLettersRequest): Promise<DeadLetterList> {
    const page = await this.deadLettersOrRefuse().store.list(after, Math.min(Math.max(limit || 50, 1), 500));
    const letters = page.items.map(({ id, user, device, push, reason, attempts, atMs }) => ({
      id,
      user,
      device,
      platform: push.target.platform,
      reason,
      attempts,
      atMs,
    }));
    return { letters, next: page.next ?? '' };
  }

  async replayDeadLetters({ ids }: ReplayDeadLettersRequest): Promise<ReplayDeadLettersResponse> {
    if (ids.length > 500)
      throw new ImError('INVALID_ARGUMENT', 'at most 500 dead letters per replay', { field: 'ids' });
    return { replayed: await this.deadLettersOrRefuse().replay(ids) };
  }

  private deadLettersOrRefuse(): NonNullable<PushDeps['deadLetters']> {
    if (!this.deps.deadLetters)
      throw new ImError('UNAVAILABLE', 'mobile push dead letters are not kept by this process');
    return this.deps.deadLetters;
  }

  private devicesOrRefuse(): Devices {
    if (!this.deps.devices) throw new ImError('UNAVAILABLE', 'mobile push registrations are not kept by this process');
    return this.deps.devices;
  }

  async sendToConnection({ node, connId, frame }: SendToConnectionRequest): Promise<SendToConnectionResponse> {
    const gateway = await this.deps.gateways.get(node);
    if (!gateway) return { delivered: false };
    const res = await gateway.deliver({ items: [{ connIds: [connId], frame, ifRoom: false }], rooms: [] });
    return { delivered: res.delivered > 0 };
  }

  /**
   * `user_state` handler: on online, hand the device what it has not acked (devices that pull that themselves send
   * no online event). Routes are the gateway's to write: it wrote this one before the event was sent.
   */
  async onUserState(state: UserState): Promise<void> {
    if (state.online) await this.catchUp(state);
  }

  private async changeRooms(
    node: string,
    changes: { room: string; connIds: string[]; join: boolean }[],
  ): Promise<number> {
    const gateway = await this.deps.gateways.get(node);
    if (!gateway) return 0;
    try {
      return (await gateway.changeRooms({ changes })).changed;
    } catch (err) {
      // Those connections miss the room's live messages until they reconnect (a gateway joins rooms at connect).
      this.deps.log.warn({ err, node }, 'room change failed');
      return 0;
    }
  }

  private async catchUp(state: UserState): Promise<void> {
    const { catchUpPageSize, catchUpMax, catchUpMaxBytes } = this.deps.options;
    let { seq: after } = await this.deps.offline.getCursor({ user: state.user, device: state.device });
    for (let sent = 0; sent < catchUpMax;) {
      const page = await this.deps.offline.readInbox({ user: state.user, afterSeq: after, limit: catchUpPageSize });
      if (page.messages.length === 0) return;
      for (const frame of deliverFrames(page.messages, catchUpMaxBytes)) {
        if (!(await this.handOver(state, frame))) return;
      }
      if (!page.hasMore) return;
      sent += page.messages.length;
      after = page.messages.at(-1)!.seq;
    }
  }

  /**
   * One catch-up frame to the connection, paced by the client: while its send queue is too full the frame waits
   * and is offered again (a backlog is handed over as fast as the client reads, never cutting it off). False if
   * the connection is gone or does not read for CATCH_UP_PATIENCE_MS: the client syncs for the rest.
   */
  private async handOver(state: UserState, frame: Buffer): Promise<boolean> {
    const gateway = await this.deps.gateways.get(state.node);
    if (!gateway) return false;
    const item = { connIds: [state.connId], frame, ifRoom: true };
    const deadline = Date.now() + CATCH_UP_PATIENCE_MS;
    for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
      const res = await gateway.deliver({ items: [item], rooms: [] });
      if (res.delivered > 0) return true;
      if (res.fullConnIds.length === 0 || Date.now() + wait > deadline) return false;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /**
   * One Deliver call to a node. Connections it says are gone closed after their route was read (their gateway
   * removes the route as they close) or belonged to a crashed process (their routes expire): routes are only ever
   * written by the gateways.
   */
  private async toNode(node: string, items: FrameToConnections[]): Promise<number> {
    const log = this.deps.log;
    const gateway = await this.deps.gateways.get(node);
    if (!gateway) {
      log.debug({ node }, 'no such gateway node; its routes will expire');
      return 0;
    }
    try {
      return (await gateway.deliver({ items, rooms: [] })).delivered;
    } catch (err) {
      log.warn({ err, node }, 'gateway delivery failed; recipients will sync');
      return 0;
    }
  }
}

export function encodeDeliver(messages: Message[]): Buffer {
  return Buffer.from(ServerFrame.encode({ requestId: 0, body: { $case: 'deliver', value: { messages } } }).finish());
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) append(groups, key(item), item);
  return groups;
}

function append<T>(lists: Map<string, T[]>, key: string, item: T): void {
  const list = lists.get(key);
  if (list) list.push(item);
  else lists.set(key, [item]);
}

/** Starts push: consumes `user_state` (group `push`). */
export async function startPush(deps: PushDeps & { bus: Bus }): Promise<{ api: Push } & Closeable> {
  const push = new Push(deps);
  const sub = await consume(deps.bus, {
    topic: topics.userState.name,
    group: 'push',
    decode: (value) => UserState.decode(value),
    handle: (state) => push.onUserState(state),
    log: deps.log,
  });
  return { api: push, close: () => sub.close() };
}
