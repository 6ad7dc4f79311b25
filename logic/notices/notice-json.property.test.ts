import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SendNoticeRequest, TagUsersRequest } from '../../proto/gen/im/v1/notices.pb.ts';
import { anyBody, mutatedJsonAny } from '../../test/fuzz/json-mutations.ts';
import { decodedOrRefused, settledOrRefused } from '../../test/fuzz/refusal.ts';
import { Apps } from './apps.ts';
import { MemoryAppStore } from './app-store.memory.ts';
import { newAppRequest, sendNoticeRequest, tagUsersRequest } from './notice-json.ts';
import { checkNoticeRequest, checkTag, checkUsers, DEFAULT_NOTICE_LIMITS } from './notice-request.ts';

const APP = 'app_0123456789abcdefghjk';
const NOW = 1_700_000_000_000;
const user = fc.stringMatching(/^[A-Za-z0-9_.@-]{1,64}$/);
const tag = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);

/** A send body the API takes (snake_case, as documented). */
const validSend = fc.record(
  {
    message_id: fc.stringMatching(/^[\x21-\x7e]{1,128}$/),
    target: fc.oneof(
      fc.record({ users: fc.array(user, { minLength: 1, maxLength: 5 }) }),
      fc.record({ tag }),
      fc.constant({ all: true }),
    ),
    content: fc.record(
      {
        title: fc.string({ minLength: 1, maxLength: 40 }).filter((t) => t.trim() !== ''),
        body: fc.string({ maxLength: 200 }),
        // Not `__proto__`: zod builds the map on a plain object, where that key is dropped (harmless, but not equal).
        data: fc.dictionary(
          fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'),
          fc.string({ maxLength: 20 }),
          { maxKeys: 4 },
        ),
        image_url: fc.constantFrom('', 'https://example.com/a.png'),
        sound: fc.constantFrom('', 'default'),
      },
      { requiredKeys: ['title'] },
    ),
    priority: fc.constantFrom('high', 'normal', 'low'),
    deliver_at_ms: fc.constantFrom(0, NOW + 60_000),
    ttl_sec: fc.nat({ max: 86_400 }),
  },
  { requiredKeys: ['message_id', 'target', 'content'] },
);

/** The send decoded and checked as the notice service does: INVALID_ARGUMENT or TOO_LARGE for what it refuses. */
function decodeSend(body: Buffer) {
  const request = decodedOrRefused(() => sendNoticeRequest(APP, body), ['INVALID_ARGUMENT']);
  if (request === undefined) return undefined;
  SendNoticeRequest.encode(request).finish(); // it can be handed to the service over gRPC
  return decodedOrRefused(
    () => checkNoticeRequest(request, DEFAULT_NOTICE_LIMITS, NOW),
    ['INVALID_ARGUMENT', 'TOO_LARGE'],
  );
}

describe('notice API bodies, properties', () => {
  it('decodes every valid send body to the request it names', () => {
    fc.assert(
      fc.property(validSend, (body) => {
        const request = sendNoticeRequest(APP, Buffer.from(JSON.stringify(body)));
        assert.equal(request.messageId, body.message_id);
        assert.equal(request.content?.title, body.content.title);
        assert.deepEqual({ ...request.content?.data }, { ...body.content.data });
        assert.equal(request.priority, body.priority ?? '');
        assert.equal(request.ttlSec, body.ttl_sec ?? 0);
        const kind = request.target?.kind;
        if ('users' in body.target) assert.deepEqual(kind, { $case: 'users', value: { users: body.target.users } });
        else if ('tag' in body.target) assert.deepEqual(kind, { $case: 'tag', value: body.target.tag });
        else assert.deepEqual(kind, { $case: 'all', value: true });
      }),
      { numRuns: 200 },
    );
  });

  it('decodes and checks any body, or refuses it with INVALID_ARGUMENT or TOO_LARGE', () => {
    fc.assert(
      fc.property(anyBody, (body) => void decodeSend(body)),
      { numRuns: 500 },
    );
  });

  it('decodes and checks mutated valid send bodies, or refuses them', () => {
    fc.assert(
      fc.property(mutatedJsonAny(validSend), (body) => void decodeSend(body)),
      { numRuns: 500 },
    );
  });

  it('decodes tag bodies to the users named, or refuses them with INVALID_ARGUMENT', () => {
    const validTag = fc.record({ add: fc.array(user, { maxLength: 4 }), remove: fc.array(user, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.oneof(anyBody, mutatedJsonAny(validTag)), tag, (body, name) => {
        const request = decodedOrRefused(() => tagUsersRequest(APP, name, body), ['INVALID_ARGUMENT']);
        if (request === undefined) return;
        TagUsersRequest.encode(request).finish();
        decodedOrRefused(() => checkUsers(request.add, 10_000, 'add'), ['INVALID_ARGUMENT']);
        decodedOrRefused(() => checkUsers(request.remove, 10_000, 'remove'), ['INVALID_ARGUMENT']);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses any tag name but a tag with INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (name) => {
        if (decodedOrRefused(() => checkTag(name, 'tag'), ['INVALID_ARGUMENT']) !== undefined) {
          assert.match(name, /^[A-Za-z0-9_.-]{1,64}$/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('creates an app from a valid or mutated admin body, or refuses it with INVALID_ARGUMENT', async () => {
    const apps = new Apps(new MemoryAppStore());
    const validApp = fc.record({
      name: fc.string({ minLength: 1, maxLength: 30 }),
      scopes: fc.subarray(['unicast', 'multicast', 'tag', 'broadcast'], { minLength: 1 }),
      rate_limits: fc.record(
        { requests_per_second: fc.integer({ min: 1, max: 100 }), recipients_per_second: fc.integer({ min: 1 }) },
        { requiredKeys: [] },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, mutatedJsonAny(validApp)), async (body) => {
        const input = decodedOrRefused(() => newAppRequest(body), ['INVALID_ARGUMENT']);
        if (input !== undefined) await settledOrRefused(() => apps.createApp(input), ['INVALID_ARGUMENT']);
      }),
      { numRuns: 500 },
    );
  });
});
