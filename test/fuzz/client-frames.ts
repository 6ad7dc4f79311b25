import fc from 'fast-check';
import { ClientFrame, GroupRole } from '../../proto/gen/im/v1/client.pb.ts';
import type { MessageOp, Peer } from '../../proto/gen/im/v1/message.pb.ts';

/**
 * Valid ClientFrames of every kind, as fast-check arbitraries: the seeds the mutations start from. `users` and
 * `groups` name whom frames refer to (a running server's real users and groups, for the fuzzer); by default any
 * well-formed id. Fields hold what a client could well send, not only what the server accepts (a sync_key of
 * another user, a limit over the cap): the point is a well-formed encoding.
 */
export interface FrameIds {
  users: fc.Arbitrary<string>;
  groups: fc.Arbitrary<string>;
}

export const anyId = fc.stringMatching(/^[A-Za-z0-9_.@-]{1,64}$/);
const uint32 = fc.nat({ max: 0xffff_ffff });
const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const int64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const text = fc.string({ maxLength: 80 });

function peer({ users, groups }: FrameIds): fc.Arbitrary<Peer> {
  return fc.oneof(
    users.map((value) => ({ kind: { $case: 'user' as const, value } })),
    groups.map((value) => ({ kind: { $case: 'group' as const, value } })),
    fc.constant({ kind: { $case: 'system' as const, value: true } }),
  );
}

const messageRef = fc.record({ fromDevice: anyId, clientMsgId: anyId, serverMsgId: text });

const messageOp: fc.Arbitrary<MessageOp> = fc.oneof(
  fc
    .record({ conversation: text, seq, stream: text, unread: uint32 })
    .map((value) => ({ kind: { $case: 'read' as const, value } })),
  messageRef.map((value) => ({ kind: { $case: 'recall' as const, value } })),
  messageRef.map((value) => ({ kind: { $case: 'edit' as const, value } })),
  fc.record({ conversation: text, untilMs: int64 }).map((value) => ({ kind: { $case: 'mute' as const, value } })),
);

/** A public key: mostly the 32 bytes the server takes, sometimes not. */
const key = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 40 }));
const signedKey = fc.record({ id: uint32, publicKey: key, signature: fc.uint8Array({ minLength: 0, maxLength: 64 }) });

/** Every body case of ClientFrame, each with plausible values. */
function bodies(ids: FrameIds): fc.Arbitrary<NonNullable<ClientFrame['body']>> {
  const { users, groups } = ids;
  const members = fc.array(users, { maxLength: 5 });
  const groupRef = fc.record({ groupId: groups });
  const body = <C extends string, V>(c: C, value: fc.Arbitrary<V>) => value.map((v) => ({ $case: c, value: v }));
  return fc.oneof(
    body(
      'send',
      fc.record({
        clientMsgId: anyId,
        to: peer(ids),
        contentType: fc.constantFrom('', 'text/plain', 'application/json'),
        body: fc.uint8Array({ minLength: 1, maxLength: 200 }),
        op: fc.option(messageOp, { nil: undefined }),
      }),
    ),
    body(
      'ack',
      fc.record({
        syncKey: text,
        inboxSeq: seq,
        streams: fc.array(fc.record({ stream: text, seq, index: seq }), { maxLength: 3 }),
      }),
    ),
    body('sync', fc.record({ syncKey: text, limit: uint32 })),
    body('ping', fc.record({ clientTimeMs: int64 })),
    body('groupCreate', fc.record({ name: text, members })),
    body('groupAdd', fc.record({ groupId: groups, members })),
    body('groupRemove', fc.record({ groupId: groups, members })),
    body('groupMembers', fc.record({ groupId: groups, cursor: text, limit: uint32 })),
    body('groupLeave', groupRef),
    body('groupDissolve', groupRef),
    body(
      'groupSetRole',
      fc.record({
        groupId: groups,
        user: users,
        role: fc.constantFrom(
          GroupRole.GROUP_ROLE_UNSPECIFIED,
          GroupRole.GROUP_ROLE_MEMBER,
          GroupRole.GROUP_ROLE_ADMIN,
          GroupRole.GROUP_ROLE_OWNER,
        ),
      }),
    ),
    body('groupList', fc.record({ cursor: text, limit: uint32 })),
    body(
      'pushRegister',
      fc.record({
        platform: fc.constantFrom('apns', 'fcm', 'other'),
        token: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), text),
        topic: fc.constantFrom('', 'com.example.app'),
        environment: fc.constantFrom('', 'production', 'sandbox'),
        locale: fc.constantFrom('', 'en-US'),
        previews: fc.boolean(),
      }),
    ),
    body('pushUnregister', fc.constant({})),
    body(
      'keyUpload',
      fc.record({
        identityKey: key,
        signedPrekey: fc.option(signedKey, { nil: undefined }),
        fallbackKey: fc.option(signedKey, { nil: undefined }),
        oneTimeKeys: fc.array(fc.record({ id: uint32, publicKey: key }), { maxLength: 5 }),
      }),
    ),
    body(
      'keyQuery',
      fc.record({
        users: fc.array(users, { maxLength: 5 }),
        known: fc.array(fc.record({ user: users, device: anyId, identityKey: key }), { maxLength: 3 }),
      }),
    ),
    body(
      'search',
      fc.record({
        text,
        conversation: fc.oneof(fc.constant(''), text),
        fromUser: fc.oneof(fc.constant(''), users),
        fromMs: int64,
        toMs: int64,
        kind: fc.constantFrom('', 'dm', 'group', 'notice', 'other'),
        order: fc.constantFrom('', 'newest', 'relevance', 'other'),
        limit: uint32,
        cursor: fc.oneof(fc.constant(''), text),
      }),
    ),
  ) as fc.Arbitrary<NonNullable<ClientFrame['body']>>;
}

/** A valid ClientFrame, as the generated code's own fromPartial would build it. */
export function clientFrames(ids: FrameIds = { users: anyId, groups: anyId }): fc.Arbitrary<ClientFrame> {
  return fc
    .record({ requestId: uint32, body: bodies(ids) })
    .map((frame) => ClientFrame.fromPartial(frame as ClientFrame));
}

/** The encoding of a valid ClientFrame. */
export function clientFrameBytes(ids?: FrameIds): fc.Arbitrary<Uint8Array> {
  return clientFrames(ids).map((frame) => ClientFrame.encode(frame).finish());
}
