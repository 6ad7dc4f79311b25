import { z } from 'zod';
import type { NoticeContent, SendNoticeRequest, TagUsersRequest } from '../../proto/gen/im/v1/notices.pb.ts';
import { parseJsonBody } from '../../lib/json-body.ts';
import type { NewApp } from './apps.ts';

/**
 * The notice API's JSON: request bodies are checked for shape here (snake_case as in notices.proto; unknown fields
 * refused, so a misspelt one is not silently ignored), their values by the service. Answers are the proto objects
 * with snake_case keys.
 */
const short = z.string().max(4096);
const content = z
  .object({
    title: short.default(''),
    body: z.string().max(65_536).default(''),
    data: z.record(z.string().max(256), z.string().max(4096)).default({}),
    image_url: short.default(''),
    sound: short.default(''),
    category: short.default(''),
    collapse_key: short.default(''),
  })
  .strict();
const target = z.union([
  z.object({ users: z.array(z.string().max(256)).max(100_000) }).strict(),
  z.object({ tag: short }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);
const ms = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0);
const sendBody = z
  .object({
    message_id: short,
    target,
    content,
    priority: short.default(''),
    deliver_at_ms: ms,
    expire_at_ms: ms,
    ttl_sec: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31)
      .default(0),
  })
  .strict();
const tagBody = z
  .object({
    add: z.array(z.string().max(256)).max(100_000).default([]),
    remove: z.array(z.string().max(256)).max(100_000).default([]),
  })
  .strict();
const appBody = z
  .object({
    name: z.string().max(4096),
    scopes: z.array(short).max(16),
    rate_limits: z
      .object({ requests_per_second: z.number().int(), recipients_per_second: z.number().int() })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

export function sendNoticeRequest(appId: string, body: Buffer): SendNoticeRequest {
  const v = parseJsonBody(sendBody, body);
  const c = v.content;
  const noticeContent: NoticeContent = {
    title: c.title,
    body: c.body,
    data: c.data,
    imageUrl: c.image_url,
    sound: c.sound,
    category: c.category,
    collapseKey: c.collapse_key,
  };
  const t = v.target;
  return {
    appId,
    messageId: v.message_id,
    target: {
      kind:
        'users' in t
          ? { $case: 'users', value: { users: t.users } }
          : 'tag' in t
            ? { $case: 'tag', value: t.tag }
            : { $case: 'all', value: true },
    },
    content: noticeContent,
    priority: v.priority,
    deliverAtMs: v.deliver_at_ms,
    expireAtMs: v.expire_at_ms,
    ttlSec: v.ttl_sec,
  };
}

export function tagUsersRequest(appId: string, tag: string, body: Buffer): TagUsersRequest {
  const v = parseJsonBody(tagBody, body);
  return { appId, tag, add: v.add, remove: v.remove };
}

export function newAppRequest(body: Buffer): NewApp {
  const v = parseJsonBody(appBody, body);
  const limits = v.rate_limits;
  return {
    name: v.name,
    scopes: v.scopes,
    ...(limits
      ? {
          rateLimits: {
            ...(limits.requests_per_second !== undefined ? { requestsPerSecond: limits.requests_per_second } : {}),
            ...(limits.recipients_per_second !== undefined
              ? { recipientsPerSecond: limits.recipients_per_second }
              : {}),
          },
        }
      : {}),
  };
}

/** An answer object with snake_case keys, recursively; the keys of an app's `data` map are left as they are. */
export function snakeJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeJson);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [snake(key), key === 'data' ? v : snakeJson(v)]));
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
