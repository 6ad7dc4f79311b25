import type { Closeable } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/logger.ts';
import type { OfflineApi } from '../../offline/index.ts';
import type { PushApi } from '../../push/index.ts';
import type { TagsOf } from '../../sync/index.ts';
import { SYSTEM_CONVERSATION } from '../../lib/conversation.ts';
import { AppRates, type RateStore } from './app-rates.ts';
import type { AppStore } from './app-store.ts';
import { Apps } from './apps.ts';
import { Firing } from './firing.ts';
import { systemReads } from './system-reads.ts';
import type { SystemReads } from '../send.ts';
import { noticeHttpHandler } from './http.ts';
import { Lanes } from './lanes.ts';
import type { NonceStore } from './nonce-store.ts';
import { roomOfAudience } from './notice-message.ts';
import { DEFAULT_NOTICE_LIMITS, type NoticeLimits } from './notice-request.ts';
import type { NoticeStore } from './notice-store.ts';
import { Notices } from './notices.ts';
import { DEFAULT_SCHEDULER, NoticeScheduler, type SchedulerOptions } from './scheduler.ts';
import type { TagStore } from './tag-store.ts';

export { NoticeServiceService, type NoticeApi } from './notices.ts';
import type { NoticeApi } from './notices.ts';
export type { AppStore, NonceStore, NoticeStore, TagStore, RateStore };

/** The stores notices keep: apps, nonces of signed requests, notices, tags (app/stores.ts picks them by mode). */
export interface NoticeStores {
  apps: AppStore;
  nonces: NonceStore;
  notices: NoticeStore;
  tags: TagStore;
}

export interface NoticeDeps {
  stores: NoticeStores;
  offline: Pick<
    OfflineApi,
    | 'allocateSeqs'
    | 'writeInbox'
    | 'getHeads'
    | 'removeInbox'
    | 'redactInbox'
    | 'updateUnread'
    | 'getUnreads'
    | 'getEntries'
    | 'readInbox'
  >;
  push: Pick<PushApi, 'deliverMessages' | 'deliverToRoom' | 'changeRoom'>;
  rates: RateStore;
  operatorToken: string;
  log: Logger;
  durable?: () => Promise<void>;
  limits?: Partial<NoticeLimits>;
  scheduler?: Partial<SchedulerOptions>;
  /** Lane tasks running at once (each writes one chunk of recipients). */
  concurrency?: number;
  chunkSize?: number;
  now?: () => number;
  /** Fault injection for crash tests (Firing's afterChunk). */
  afterChunk?: () => void;
}

export interface RunningNotices extends Closeable {
  api: Notices;
  apps: Apps;
  /** The HTTP face over `api` (this service's, or a gRPC client of it): true if it took the request (http.ts). */
  httpOver(api: NoticeApi): ReturnType<typeof noticeHttpHandler>;
  /** Rooms a user's connections join for notices to everyone and to the user's tags. */
  roomsOf(user: string): Promise<string[]>;
  tagsOf: TagsOf;
  /** For logic's read markers of "system" (LogicDeps.systemReads). */
  reads: SystemReads;
}

/** The notice service in logic: the API, firing in priority lanes, and the scheduler (started here). */
export function startNotices(deps: NoticeDeps): RunningNotices {
  const now = deps.now ?? Date.now;
  const { stores, log } = deps;
  // Many small tasks at once (a unicast is one small task; each waits for a commit), but few chunks of big low
  // notices: each writes its rows in one synchronous stretch that everything else waits behind.
  const lanes = new Lanes(deps.concurrency ?? 32, (err) => log.warn({ err }, 'notice task failed'), {
    normal: 16,
    low: 1,
  });
  const scheduler: NoticeScheduler = new NoticeScheduler({
    store: stores.notices,
    firing: () => firing,
    log,
    now,
    options: { ...DEFAULT_SCHEDULER, ...deps.scheduler },
  });
  const firing = new Firing({
    store: stores.notices,
    tags: stores.tags,
    offline: deps.offline,
    push: deps.push,
    lanes,
    log,
    now,
    chunkSize: deps.chunkSize ?? 200,
    renew: (record) => scheduler.renew(record),
    ...(deps.afterChunk ? { afterChunk: deps.afterChunk } : {}),
    ...(deps.durable ? { durable: deps.durable } : {}),
  });
  const apps = new Apps(stores.apps, { now });
  const api = new Notices({
    store: stores.notices,
    tags: stores.tags,
    apps,
    rates: new AppRates(deps.rates),
    firing,
    scheduler,
    offline: deps.offline,
    push: deps.push,
    limits: { ...DEFAULT_NOTICE_LIMITS, ...deps.limits },
    log,
    now,
  });
  scheduler.start();
  const tagsOf: TagsOf = (user) => stores.tags.tagsOf(user);
  return {
    api,
    apps,
    httpOver: (notices) =>
      noticeHttpHandler({ notices, apps, nonces: stores.nonces, operatorToken: deps.operatorToken, now }),
    roomsOf: async (user) => [
      SYSTEM_CONVERSATION,
      ...(await tagsOf(user)).map((t) => roomOfAudience(t.appId, `tag:${t.tag}`)),
    ],
    tagsOf,
    reads: systemReads({ store: stores.notices, tags: stores.tags, offline: deps.offline, now }),
    close: async () => {
      await scheduler.close();
      await lanes.idle();
    },
  };
}
