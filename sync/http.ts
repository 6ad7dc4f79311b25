import type { IncomingMessage, ServerResponse } from 'node:http';
import { SyncRequest, SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import { echo } from '../lib/echo.ts';
import { ImError } from '../lib/errors.ts';
import { readBody, sendError } from '../lib/http.ts';
import { messageJson } from '../lib/message-json.ts';
import type { TokenVerifier } from '../lib/token.ts';
import type { SyncApi } from './api.ts';

export const SYNC_HTTP_PATH = '/v1/sync';
const MAX_BODY_BYTES = 128 * 1024;
const PROTOBUF = 'application/x-protobuf';

/** What the HTTP endpoint calls. */
type HttpSync = Pick<SyncApi, 'getDiff'>;

/**
 * `POST /v1/sync` with `Authorization: Bearer <token>` for clients waking from a push: a JSON body
 * `{"sync_key": "...", "limit": 100}` answered in JSON, or a protobuf SyncRequest (Content-Type
 * application/x-protobuf) answered with a protobuf SyncResponse (messages in JSON as `messageJson` shows them:
 * operations with their target, tombstones with `recalled: true`). Errors are `{code, message}` with a 4xx/5xx:
 * 405 (with Allow: POST) for another method, 413 for a body over 128 KiB, 400 for a JSON body that is not an
 * object or has a field this endpoint does not know (a misspelt sync_key would otherwise sync from the start).
 */
export function syncHttpHandler(sync: HttpSync, verify: TokenVerifier) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== SYNC_HTTP_PATH) return false;
    serve(req, res, sync, verify).catch((err: unknown) => sendError(res, err));
    return true;
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, sync: HttpSync, verify: TokenVerifier): Promise<void> {
  if (req.method !== 'POST') {
    return sendError(res, new ImError('METHOD_NOT_ALLOWED', `${SYNC_HTTP_PATH} takes POST`), { allow: 'POST' });
  }
  const auth = req.headers.authorization;
  if (!auth?.startsWith('Bearer ')) throw new ImError('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
  const claims = await verify(auth.slice('Bearer '.length).trim());
  const body = await readBody(req, MAX_BODY_BYTES);
  const protobuf = req.headers['content-type']?.startsWith(PROTOBUF) ?? false;
  const { syncKey, limit } = protobuf ? decodeProtobuf(body) : decodeJson(body);
  const result = await sync.getDiff({ user: claims.sub, device: claims.dev, syncKey, limit });
  if (protobuf) {
    res.writeHead(200, { 'content-type': PROTOBUF });
    res.end(SyncResponse.encode(result).finish());
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      messages: result.messages.map(messageJson),
      sync_key: result.syncKey,
      has_more: result.hasMore,
      reset: result.reset,
    }),
  );
}

const JSON_FIELDS: readonly string[] = ['sync_key', 'limit'];
const MAX_UINT32 = 0xffff_ffff;

function decodeJson(body: Buffer): { syncKey: string; limit: number } {
  let value: unknown;
  try {
    value = body.length ? JSON.parse(body.toString('utf8')) : {};
  } catch {
    throw new ImError('INVALID_ARGUMENT', 'body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImError('INVALID_ARGUMENT', 'body must be a JSON object');
  }
  const unknown = Object.keys(value).find((k) => !JSON_FIELDS.includes(k));
  if (unknown !== undefined) {
    throw new ImError('INVALID_ARGUMENT', `unknown field ${echo(unknown)} (fields: ${JSON_FIELDS.join(', ')})`);
  }
  const v = value as { sync_key?: unknown; limit?: unknown };
  if (v.sync_key !== undefined && typeof v.sync_key !== 'string')
    throw new ImError('INVALID_ARGUMENT', 'sync_key must be a string');
  if (v.limit !== undefined && (!Number.isInteger(v.limit) || (v.limit as number) < 0)) {
    throw new ImError('INVALID_ARGUMENT', 'limit must be a non-negative integer');
  }
  // Sync caps the limit anyway; capped here already so it fits GetDiffRequest's uint32 on the way to sync (gRPC in
  // cluster mode refused to encode {"limit": 4294967296} and the client got a 500).
  return { syncKey: v.sync_key ?? '', limit: Math.min((v.limit as number | undefined) ?? 0, MAX_UINT32) };
}

function decodeProtobuf(body: Buffer): { syncKey: string; limit: number } {
  try {
    return SyncRequest.decode(body);
  } catch {
    throw new ImError('BAD_FRAME', 'body is not a SyncRequest protobuf');
  }
}
