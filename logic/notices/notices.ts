import type {
  ListNoticesRequest,
  NoticeList,
  NoticeRef,
  NoticeStatus,
  SendNoticeRequest,
  TagUsersRequest,
  TagUsersResponse,
} from '../../proto/gen/im/v1/notices.pb.ts';
import { NoticeServiceService } from '../../proto/gen/im/v1/notices.pb.ts';
import { echo } from '../../lib/echo.ts';
import { ImError } from '../../lib/errors.ts';
import type { ApiOf } from '../../lib/grpc.ts';
import { newServerMsgId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type { OfflineApi } from '../../offline/index.ts';
import type { PushApi } from '../../push/index.ts';
import type { AppRates } from './app-rates.ts';
import type { Scope } from './app-store.ts';
import { checkScope, type AppInfo, type Apps } from './apps.ts';
import type { Firing } from './firing.ts';
import { noticesTotal } from './metrics.ts';
import { roomOfAudience } from './notice-message.ts';
import { checkNoticeRequest, checkTag, checkUsers, scopeOf, type NoticeLimits } from './notice-request.ts';
import { noticeStatus } from './notice-status.ts';
import { NOTICE_STATES, type NoticeRecord, type NoticeState, type NoticeStore } from './notice-store.ts';
import type { NoticeScheduler } from './scheduler.ts';
import type { TagStore } from './tag-store.ts';

export type NoticeApi = ApiOf<typeof NoticeServiceService>;
export { NoticeServiceService };

export interface NoticesDeps {
  store: NoticeStore;
  tags: TagStore;
  apps: Apps;
  rates: AppRates;
  firing: Firing;
  scheduler: NoticeScheduler;
  offline: Pick<OfflineApi, 'getUnreads'>;
  push: Pick<PushApi, 'changeRoom'>;
  limits: NoticeLimits;
  log: Logger;
  now: () => number;
}

const LIST_DEFAULT = 50;
const LIST_MAX = 500;

/**
 * The notice API (NoticeService): every request names its app, which must exist, be active and hold the scope the
 * request needs (the HTTP face names it from the request's signature). A refused request stores nothing.
 */
export class Notices implements NoticeApi {
  constructor(private readonly deps: NoticesDeps) {}

  async sendNotice(req: SendNoticeRequest): Promise<NoticeStatus> {
    const { deps } = this;
    const app = await this.app(req.appId);
    const now = deps.now();
    let checked;
    try {
      checked = checkNoticeRequest(req, deps.limits, now);
      checkScope(app, scopeOf(checked.target));
      const recipients = checked.target.kind === 'users' ? checked.target.users.length : 0;
      await deps.rates.charge(app, recipients);
    } catch (err) {
      noticesTotal.inc({ app: app.id, priority: req.priority || 'normal', outcome: 'refused' });
      throw err;
    }
    // A notice for now is created already firing, claimed by this process, which fires it at once; should this
    // process die first, another takes it over when the claim lapses. A later one waits for the scheduler.
    const forNow = checked.deliverAtMs <= now;
    const record: NoticeRecord = {
      id: `ntc_${newServerMsgId().toLowerCase()}`,
      appId: app.id,
      ...checked,
      createdAtMs: now,
      state: forNow ? 'firing' : 'scheduled',
      serverMsgId: newServerMsgId(),
      firedAtMs: 0,
      cancelledAtMs: 0,
      ...(forNow ? deps.scheduler.claimForNew(now) : { claimOwner: '', claimUntilMs: 0 }),
      timelineSeq: 0,
    };
    const { record: stored, created } = await deps.store.create(record);
    noticesTotal.inc({ app: app.id, priority: stored.priority, outcome: created ? 'accepted' : 'duplicate' });
    if (created && forNow) deps.scheduler.fireClaimed(stored);
    return noticeStatus(stored, created, deps);
  }

  async getNotice(ref: NoticeRef): Promise<NoticeStatus> {
    const record = await this.own(ref, 'read');
    return noticeStatus(record, false, this.deps);
  }

  /** Before firing: it never fires. After (or while): taken back from every recipient. Idempotent. */
  async cancelNotice(ref: NoticeRef): Promise<NoticeStatus> {
    const { store, firing, now, log } = this.deps;
    const record = await this.own(ref);
    const before = await store.cancel(record.id, now());
    if (before && (before.state === 'firing' || before.state === 'sent')) {
      noticesTotal.inc({ app: record.appId, priority: record.priority, outcome: 'cancelled' });
      firing
        .takeBack(before)
        .catch((err: unknown) => log.warn({ err, notice: record.id }, 'taking a cancelled notice back failed'));
    } else if (before?.state === 'scheduled') {
      noticesTotal.inc({ app: record.appId, priority: record.priority, outcome: 'cancelled' });
    }
    return noticeStatus((await store.get(record.id)) ?? record, false, this.deps);
  }

  async listNotices(req: ListNoticesRequest): Promise<NoticeList> {
    const app = await this.app(req.appId);
    checkScope(app, 'read');
    const limit = req.limit === 0 ? LIST_DEFAULT : req.limit;
    if (limit > LIST_MAX) {
      throw new ImError('INVALID_ARGUMENT', `limit must be at most ${LIST_MAX}`, { field: 'limit' });
    }
    if (req.state !== '' && !NOTICE_STATES.includes(req.state as NoticeState)) {
      throw new ImError('INVALID_ARGUMENT', `state must be one of ${NOTICE_STATES.join(', ')}`, { field: 'state' });
    }
    const state = req.state === '' ? undefined : (req.state as NoticeState);
    const page = await this.deps.store.list(app.id, { after: req.after, limit, ...(state ? { state } : {}) });
    const notices = await Promise.all(page.items.map((r) => noticeStatus(r, false, this.deps)));
    return { notices, next: page.next ?? '' };
  }

  /** Tags and untags users for the app; their online connections join or leave the tag's room. */
  async tagUsers(req: TagUsersRequest): Promise<TagUsersResponse> {
    const { tags, push, limits, now, log } = this.deps;
    const app = await this.app(req.appId);
    checkScope(app, 'tag');
    const tag = checkTag(req.tag, 'tag');
    const add = checkUsers(req.add, limits.maxUsers, 'add');
    const remove = checkUsers(req.remove, limits.maxUsers, 'remove');
    const added = add.length > 0 ? await tags.tag(app.id, tag, add, now()) : 0;
    const removed = remove.length > 0 ? await tags.untag(app.id, tag, remove) : 0;
    try {
      await push.changeRoom({ room: roomOfAudience(app.id, `tag:${tag}`), joinUsers: add, leaveUsers: remove });
    } catch (err) {
      log.warn({ err, tag }, 'tag room not changed in full; the members get the tag notices through sync');
    }
    return { added, removed };
  }

  /** An active app, or UNAUTHORIZED (unknown or revoked: the HTTP face has checked this already). */
  private async app(id: string): Promise<AppInfo> {
    const found = await this.deps.apps.secretOf(id);
    if (found?.status !== 'active') {
      throw new ImError('UNAUTHORIZED', found ? `app ${id} is revoked` : `unknown app ${echo(id)}`);
    }
    return found.app;
  }

  /** The app's own notice, or NOT_FOUND (another app's notice is not found either). */
  private async own(ref: NoticeRef, scope?: Scope): Promise<NoticeRecord> {
    const app = await this.app(ref.appId);
    if (scope) checkScope(app, scope);
    const record = /^ntc_[0-9a-z]{26}$/.test(ref.id) ? await this.deps.store.get(ref.id) : undefined;
    if (!record || record.appId !== app.id) throw new ImError('NOT_FOUND', `notice ${echo(ref.id)} not found`);
    return record;
  }
}
