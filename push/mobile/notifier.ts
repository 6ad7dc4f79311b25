import { createHash } from 'node:crypto';
import pRetry from 'p-retry';
import type { PushJob } from '../../proto/gen/im/v1/bus.pb.ts';
import type { Message } from '../../proto/gen/im/v1/message.pb.ts';
import type { Logger } from '../../lib/logger.ts';
import type { OfflineApi } from '../../offline/index.ts';
import type { RouteTable } from '../route-table.ts';
import { Coalescer } from './coalescer.ts';
import type { DeadLetterStore } from './dead-letter-store.ts';
import type { DeviceToken, DeviceTokenStore } from './device-token-store.ts';
import type { MuteStore } from './mute-store.ts';
import { mobilePushDelaySeconds, mobilePushes, mobilePushRetries } from './metrics.ts';
import type { MobilePush, Platform, PushSender, SendOutcome } from './push-sender.ts';
import { pushText } from './push-text.ts';

export interface NotifierOptions {
  /** At most one visible alert per device and conversation this often (coalescer.ts). */
  coalesceWindowMs: number;
  /** Tries of a push the provider asks to retry (429, 5xx), with exponential backoff and jitter, before it is dead-lettered. */
  maxAttempts: number;
  retryBaseMs: number;
}

export const DEFAULT_NOTIFIER: Readonly<NotifierOptions> = { coalesceWindowMs: 1000, maxAttempts: 5, retryBaseMs: 100 };

/** The room of everyone (a notice to all): its audience is every registered device. */
const EVERYONE = 'system';
/** Users (or, for everyone, users' registrations) per page of an audience. */
const AUDIENCE_PAGE = 500;
/** An audience is paged through at most this far (1,000,000 users at the page size above). */
const MAX_AUDIENCE_PAGES = 2_000;

export interface NotifierDeps {
  tokens: DeviceTokenStore;
  routes: Pick<RouteTable, 'lookup'>;
  offline: Pick<OfflineApi, 'getCursor'>;
  /** Each user's total unread (sync's GetUnreadTotals): the badge. */
  badges: (users: string[]) => Promise<number[]>;
  /** The providers configured; a platform without one gets no pushes (counted as no-provider). */
  senders: Partial<Record<Platform, PushSender>>;
  deadLetters: DeadLetterStore;
  /** Conversations users muted: no visible alert for them, only the badge. */
  mutes?: MuteStore;
  /** The users of an audience other than "system" (everyone): "group:<id>" members, "tag:<app>:<tag>" holders. */
  audienceUsers?: (
    audience: string,
    page: { after: string; limit: number },
  ) => Promise<{ items: string[]; next?: string }>;
  log: Logger;
  options: NotifierOptions;
  now?: () => number;
}

/** A device that may need a push for a message. */
interface Candidate {
  device: DeviceToken;
  message: Message;
  storedAtMs: number;
}

interface Outgoing {
  push: MobilePush;
  device: DeviceToken;
  storedAtMs: number;
}

/**
 * Decides which devices get a mobile push for a stored message, and sends it. A device gets one when it is not
 * connected (its route is checked right before sending), its acknowledged cursor is behind the message, the message
 * is not its user's own and not an expired notice; at most one visible alert per device and conversation per window,
 * later ones in the window end in one silent update. The badge is the user's total unread. Dead tokens are removed;
 * pushes the provider asks to retry are tried again with backoff, then dead-lettered.
 */
export class Notifier {
  private readonly coalescer: Coalescer<Candidate>;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: NotifierDeps) {
    this.now = deps.now ?? Date.now;
    this.coalescer = new Coalescer(deps.options.coalesceWindowMs, this.now, (c) => c.message.serverMsgId);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), Math.max(50, this.deps.options.coalesceWindowMs / 4));
    this.timer.unref();
  }

  async handle(jobs: readonly PushJob[]): Promise<void> {
    for (const job of jobs) if (job.audience && job.message) await this.handleAudience(job, job.message);
    const relevant = jobs.filter((j) => !j.audience && j.message && this.wanted(j.user, j.message));
    if (relevant.length === 0) return;
    const users = [...new Set(relevant.map((j) => j.user))];
    const tokens = await this.deps.tokens.ofUsers(users);
    const candidates = relevant.flatMap((j) =>
      (tokens.get(j.user) ?? []).map((device) => ({ device, message: j.message!, storedAtMs: j.storedAtMs })),
    );
    await this.decide(candidates);
  }

  /**
   * A message stored once for many (a large group's, a notice to everyone or to a tag): its audience's devices a page
   * at a time, each page decided like any recipients' (its sender's own devices left out).
   */
  private async handleAudience(job: PushJob, message: Message): Promise<void> {
    if (!this.wanted('', message)) return;
    let after = '';
    for (let pages = 0; pages < MAX_AUDIENCE_PAGES; pages++) {
      const page = await this.audiencePage(job.audience, after);
      const devices = page.tokens.filter((t) => t.user !== message.fromUser);
      await this.decide(devices.map((device) => ({ device, message, storedAtMs: job.storedAtMs })));
      if (page.next === undefined) return;
      after = page.next;
    }
    this.deps.log.warn({ audience: job.audience }, `mobile push: audience past ${MAX_AUDIENCE_PAGES} pages, cut`);
  }

  private async audiencePage(audience: string, after: string): Promise<{ tokens: DeviceToken[]; next?: string }> {
    if (audience === EVERYONE) {
      const page = await this.deps.tokens.scan({ after, limit: AUDIENCE_PAGE });
      return page.next === undefined ? { tokens: page.items } : { tokens: page.items, next: page.next };
    }
    if (!this.deps.audienceUsers) return { tokens: [] };
    const users = await this.deps.audienceUsers(audience, { after, limit: AUDIENCE_PAGE });
    const tokens = [...(await this.deps.tokens.ofUsers(users.items)).values()].flat();
    return users.next === undefined ? { tokens } : { tokens, next: users.next };
  }

  /** Which of these devices get an alert now, a silent update now (muted), or one when their window ends. */
  private async decide(all: readonly Candidate[]): Promise<void> {
    const candidates = all.filter(registeredBefore);
    if (candidates.length === 0) return;
    const behind = await this.stillBehind(candidates);
    // Everything that can fail before the coalescer notes an alert: a job tried again must still alert.
    const badges = await this.badgesOf(behind);
    const opened = behind.filter((c) => this.coalescer.take(keyOf(c), c) === 'alert');
    const muted = await this.mutedOf(opened);
    await Promise.all([
      this.send(
        opened.filter((_, i) => !muted[i]),
        true,
        badges,
      ),
      this.send(
        opened.filter((_, i) => muted[i]),
        false,
        badges,
      ),
    ]);
  }

  /** Silent updates for the windows that ended with messages not alerted. */
  async flush(): Promise<void> {
    const due = this.coalescer.due();
    if (due.length === 0) return;
    try {
      const behind = await this.stillBehind(due);
      await this.send(behind, false, await this.badgesOf(behind));
    } catch (err) {
      this.deps.log.warn({ err }, 'mobile push updates not sent');
    }
  }

  /** Dead letters sent once more (each taken out; one that fails again is a dead letter again). */
  async replay(ids: readonly string[]): Promise<number> {
    const letters = await this.deps.deadLetters.take(ids);
    const outgoing = letters.map((l) => ({
      push: l.push,
      device: { user: l.user, device: l.device, ...l.push.target, locale: '', previews: false, updatedAtMs: 0 },
      storedAtMs: this.now(),
    }));
    await this.deliver(outgoing);
    return letters.length;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async mutedOf(candidates: readonly Candidate[]): Promise<boolean[]> {
    if (!this.deps.mutes || candidates.length === 0) return candidates.map(() => false);
    const pairs = candidates.map((c) => ({ user: c.device.user, conversation: c.message.conversation }));
    return this.deps.mutes.mutedOf(pairs, this.now());
  }

  private wanted(user: string, m: Message): boolean {
    if (m.op || m.recalled || m.fromUser === user) return false;
    return !m.notice || m.notice.expireAtMs === 0 || m.notice.expireAtMs > this.now();
  }

  /** Candidates whose device is not connected and has not acknowledged the message (inbox messages). */
  private async stillBehind(candidates: readonly Candidate[]): Promise<Candidate[]> {
    if (candidates.length === 0) return [];
    const routes = await this.deps.routes.lookup([...new Set(candidates.map((c) => c.device.user))]);
    const offline = candidates.filter(
      (c) => !(routes.get(c.device.user) ?? []).some((r) => r.device === c.device.device),
    );
    const cursors = await Promise.all(
      offline.map((c) =>
        c.message.stream === 'inbox'
          ? this.deps.offline.getCursor({ user: c.device.user, device: c.device.device }).then((r) => r.seq)
          : Promise.resolve(0),
      ),
    );
    return offline.filter((c, i) => c.message.stream !== 'inbox' || cursors[i]! < c.message.seq);
  }

  /** Each user's total unread, the badge of their pushes. */
  private async badgesOf(candidates: readonly Candidate[]): Promise<Map<string, number>> {
    if (candidates.length === 0) return new Map();
    const users = [...new Set(candidates.map((c) => c.device.user))];
    const totals = await this.deps.badges(users);
    return new Map(users.map((u, i) => [u, totals[i] ?? 0]));
  }

  private async send(candidates: readonly Candidate[], alert: boolean, badge: Map<string, number>): Promise<void> {
    if (candidates.length === 0) return;
    await this.deliver(
      candidates.map((c) => ({
        push: this.pushFor(c, alert, badge.get(c.device.user) ?? 0),
        device: c.device,
        storedAtMs: c.storedAtMs,
      })),
    );
  }

  private pushFor({ device, message }: Candidate, alert: boolean, badge: number): MobilePush {
    const notice = message.notice;
    return {
      id: pushId(message.serverMsgId, device.device, alert),
      target: { platform: device.platform, token: device.token, topic: device.topic, environment: device.environment },
      ...(alert ? { alert: pushText(message, device.previews), sound: notice?.sound || 'default' } : {}),
      badge,
      collapseId: collapseIdOf(message.conversation),
      priority: alert && (!notice || notice.priority === 'high' || notice.priority === '') ? 'high' : 'normal',
      expireAtMs: notice?.expireAtMs ?? 0,
      data: { conversation: message.conversation, seq: String(message.seq), stream: message.stream || 'inbox' },
    };
  }

  /** One batch per provider; what it asks to retry is tried again one by one, then dead-lettered. */
  private async deliver(outgoing: readonly Outgoing[]): Promise<void> {
    const byPlatform = new Map<Platform, Outgoing[]>();
    for (const o of outgoing) {
      const items = byPlatform.get(o.push.target.platform);
      if (items) items.push(o);
      else byPlatform.set(o.push.target.platform, [o]);
    }
    await Promise.all(
      [...byPlatform].map(async ([platform, items]) => {
        const sender = this.deps.senders[platform];
        if (!sender) return void mobilePushes.inc({ provider: platform, outcome: 'no-provider' }, items.length);
        const outcomes = await sender.send(items.map((o) => o.push));
        await Promise.all(items.map((o, i) => this.settle(sender, o, outcomes[i]!)));
      }),
    );
  }

  private async settle(sender: PushSender, o: Outgoing, first: SendOutcome): Promise<void> {
    const provider = sender.platform;
    let outcome = first;
    let attempts = 1;
    if (outcome.kind === 'retry') {
      const retried = await this.retry(sender, o.push, outcome);
      outcome = retried.outcome;
      attempts = retried.attempts;
    }
    switch (outcome.kind) {
      case 'sent':
        mobilePushes.inc({ provider, outcome: 'sent' });
        mobilePushDelaySeconds.observe({ provider }, Math.max(0, this.now() - o.storedAtMs) / 1000);
        return;
      case 'dead-token':
        mobilePushes.inc({ provider, outcome: 'dead-token' });
        await this.deps.tokens.removeToken(provider, o.push.target.token, o.device.updatedAtMs);
        return;
      default: {
        mobilePushes.inc({ provider, outcome: 'dead-letter' });
        const { user, device } = o.device;
        const letter = {
          id: o.push.id,
          user,
          device,
          push: o.push,
          reason: outcome.reason,
          attempts,
          atMs: this.now(),
        };
        await this.deps.deadLetters.add(letter);
        this.deps.log.warn({ user, device, provider, reason: outcome.reason, attempts }, 'mobile push dead-lettered');
      }
    }
  }

  private async retry(sender: PushSender, push: MobilePush, first: SendOutcome) {
    const { maxAttempts, retryBaseMs } = this.deps.options;
    let last = first;
    let attempts = 1;
    try {
      const outcome = await pRetry(
        async () => {
          attempts++;
          mobilePushRetries.inc({ provider: sender.platform });
          const [outcome] = await sender.send([push]);
          if (outcome!.kind === 'retry') {
            last = outcome!;
            throw new Error(outcome!.reason);
          }
          return outcome!;
        },
        { retries: Math.max(0, maxAttempts - 2), minTimeout: retryBaseMs, factor: 2, randomize: true },
      );
      return { outcome, attempts };
    } catch {
      return {
        outcome: {
          kind: 'failed',
          reason: `gave up after ${attempts} tries: ${last.kind === 'retry' ? last.reason : ''}`,
        } as const,
        attempts,
      };
    }
  }
}

/**
 * A device whose token was registered after the message was stored was connected then (it registers over its
 * connection or the API at sign-in) and had the message with its sync: no push. This is also what keeps a job handed
 * over late (a redelivery after a crash, a broadcast's long audience scan) from alerting devices that came later.
 */
function registeredBefore(c: Candidate): boolean {
  return c.storedAtMs === 0 || c.device.updatedAtMs <= c.storedAtMs;
}

function keyOf(c: Candidate): string {
  return `${c.device.user}\n${c.device.device}\n${c.message.conversation}`;
}

/** Per conversation, short (APNs allows 64 bytes): the lock screen keeps the latest of a conversation. */
function collapseIdOf(conversation: string): string {
  return createHash('sha256').update(conversation).digest('base64url').slice(0, 32);
}

/** The same push for the same message and device whoever sends it (APNs drops a repeated apns-id). */
function pushId(serverMsgId: string, device: string, alert: boolean): string {
  const h = createHash('sha256')
    .update(`${serverMsgId}\n${device}\n${alert ? 'alert' : 'update'}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
