import type { NoticeContent, SendNoticeRequest } from '../../proto/gen/im/v1/notices.pb.ts';
import { isId } from '../../lib/conversation.ts';
import { echo } from '../../lib/echo.ts';
import { ImError } from '../../lib/errors.ts';
import { NOTICE_PRIORITIES, type NoticePriority, type NoticeTargetRecord } from './notice-store.ts';

/** What a notice request may hold: each bound refuses a request past it with a 400 naming the field. */
export interface NoticeLimits {
  /** Listed users per request (unicast or multicast). */
  maxUsers: number;
  /** Bytes of title + body + data + the other content fields, UTF-8. */
  maxContentBytes: number;
  /** How far ahead deliver_at may be. */
  maxScheduleAheadMs: number;
  /** A notice's life when the request gives neither expire_at_ms nor ttl_sec, and the longest it may ask for. */
  defaultTtlMs: number;
  maxTtlMs: number;
}

export const DEFAULT_NOTICE_LIMITS: Readonly<NoticeLimits> = {
  maxUsers: 10_000,
  maxContentBytes: 8 * 1024,
  maxScheduleAheadMs: 30 * 24 * 3600_000,
  defaultTtlMs: 30 * 24 * 3600_000,
  maxTtlMs: 90 * 24 * 3600_000,
};

/** deliver_at_ms may lie this far in the past (clock skew between the app and us): it fires at once. */
const PAST_TOLERANCE_MS = 60_000;
const MESSAGE_ID = /^[\x21-\x7e]{1,128}$/;
const TAG = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_DATA_KEYS = 64;
const SHORT_FIELD_CHARS = 256;

/** A checked request: everything the notice record takes from it. */
export interface CheckedNotice {
  messageId: string;
  target: NoticeTargetRecord;
  content: NoticeContent;
  priority: NoticePriority;
  deliverAtMs: number;
  expireAtMs: number;
}

/** The scope a target needs of the app. */
export function scopeOf(target: NoticeTargetRecord): 'unicast' | 'multicast' | 'tag' | 'broadcast' {
  if (target.kind === 'all') return 'broadcast';
  if (target.kind === 'tag') return 'tag';
  return target.users.length === 1 ? 'unicast' : 'multicast';
}

/** Checks every field of a send; the first fault is an INVALID_ARGUMENT (or TOO_LARGE) naming its field. */
export function checkNoticeRequest(req: SendNoticeRequest, limits: NoticeLimits, nowMs: number): CheckedNotice {
  if (!MESSAGE_ID.test(req.messageId)) {
    throw invalid('message_id', `must be 1-128 printable ASCII characters, got ${echo(req.messageId)}`);
  }
  const target = checkTarget(req, limits);
  const content = checkContent(req.content, limits);
  const priority = (req.priority || 'normal') as NoticePriority;
  if (!NOTICE_PRIORITIES.includes(priority)) {
    throw invalid('priority', `must be one of ${NOTICE_PRIORITIES.join(', ')}, got ${echo(req.priority)}`);
  }
  const { deliverAtMs, expireAtMs } = checkTimes(req, limits, nowMs);
  return { messageId: req.messageId, target, content, priority, deliverAtMs, expireAtMs };
}

/** A tag's name: what TagUsers and a tag target accept. */
export function checkTag(tag: string, field: string): string {
  if (!TAG.test(tag)) throw invalid(field, `must be 1-64 characters of [A-Za-z0-9_.-], got ${echo(tag)}`);
  return tag;
}

/** Users of a list: valid ids, duplicates dropped, at most `max`. */
export function checkUsers(users: readonly string[], max: number, field: string): string[] {
  if (users.length > max) throw invalid(field, `${users.length} users; at most ${max} per request`);
  for (const [i, user] of users.entries()) {
    if (!isId(user)) throw invalid(`${field}[${i}]`, `must be a user id ([A-Za-z0-9_.@-], 1-64), got ${echo(user)}`);
  }
  return [...new Set(users)];
}

function checkTarget(req: SendNoticeRequest, limits: NoticeLimits): NoticeTargetRecord {
  const kind = req.target?.kind;
  switch (kind?.$case) {
    case 'users': {
      const users = checkUsers(kind.value.users, limits.maxUsers, 'target.users');
      if (users.length === 0) throw invalid('target.users', 'names no user');
      return { kind: 'users', users };
    }
    case 'tag':
      return { kind: 'tag', tag: checkTag(kind.value, 'target.tag') };
    case 'all':
      if (!kind.value) throw invalid('target.all', 'must be true');
      return { kind: 'all' };
    default:
      throw invalid('target', 'must be one of {users: [...]}, {tag: "..."} or {all: true}');
  }
}

function checkContent(content: NoticeContent | undefined, limits: NoticeLimits): NoticeContent {
  if (!content || (content.title.trim() === '' && content.body.trim() === '')) {
    throw invalid('content', 'needs a title or a body');
  }
  for (const name of ['title', 'image_url', 'sound', 'category', 'collapse_key'] as const) {
    const value = content[camel(name)];
    if ([...value].length > SHORT_FIELD_CHARS) throw invalid(`content.${name}`, `longer than ${SHORT_FIELD_CHARS}`);
  }
  if (content.imageUrl !== '' && !/^https:\/\/[^\s]+$/.test(content.imageUrl)) {
    throw invalid('content.image_url', `must be an https URL, got ${echo(content.imageUrl)}`);
  }
  const keys = Object.keys(content.data);
  if (keys.length > MAX_DATA_KEYS) throw invalid('content.data', `${keys.length} keys; at most ${MAX_DATA_KEYS}`);
  const bytes = Buffer.byteLength(JSON.stringify(content));
  if (bytes > limits.maxContentBytes) {
    throw new ImError('TOO_LARGE', `content is ${bytes} bytes; the limit is ${limits.maxContentBytes}`, {
      field: 'content',
    });
  }
  return { ...content, data: { ...content.data } };
}

function checkTimes(req: SendNoticeRequest, limits: NoticeLimits, nowMs: number) {
  if (req.deliverAtMs !== 0 && req.deliverAtMs < nowMs - PAST_TOLERANCE_MS) {
    throw invalid('deliver_at_ms', `${req.deliverAtMs} is in the past (now ${nowMs})`);
  }
  if (req.deliverAtMs > nowMs + limits.maxScheduleAheadMs) {
    throw invalid('deliver_at_ms', `is more than ${limits.maxScheduleAheadMs / 86_400_000} days ahead`);
  }
  const deliverAtMs = Math.max(req.deliverAtMs, nowMs);
  if (req.expireAtMs !== 0 && req.ttlSec !== 0) throw invalid('ttl_sec', 'give expire_at_ms or ttl_sec, not both');
  const expireAtMs =
    req.expireAtMs !== 0 ? req.expireAtMs : deliverAtMs + (req.ttlSec !== 0 ? req.ttlSec * 1000 : limits.defaultTtlMs);
  const field = req.expireAtMs !== 0 ? 'expire_at_ms' : 'ttl_sec';
  if (expireAtMs <= deliverAtMs) throw invalid(field, 'expires before it is delivered');
  if (expireAtMs - deliverAtMs > limits.maxTtlMs) {
    throw invalid(field, `lives longer than ${limits.maxTtlMs / 86_400_000} days`);
  }
  return { deliverAtMs, expireAtMs };
}

type ShortField = 'title' | 'imageUrl' | 'sound' | 'category' | 'collapseKey';

function camel(name: string): ShortField {
  return name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) as ShortField;
}

function invalid(field: string, message: string): ImError {
  return new ImError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}
