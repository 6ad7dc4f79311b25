import fc from 'fast-check';
import { SyncRequest } from '../../proto/gen/im/v1/client.pb.ts';
import { clientFrameBytes, type FrameIds } from './client-frames.ts';
import { anyBody, mutatedJson } from './json-mutations.ts';
import { mutatedAny, mutatedRepeatedly } from './mutations.ts';

/**
 * What the fuzzer sends in one burst, drawn with fast-check from a seed (the run's seed plus the burst's number,
 * so a finding can be replayed): mostly mutated valid encodings, some valid ones, some plain random bytes.
 */
export function frameInputs(ids: FrameIds, seed: number, count: number): Uint8Array[] {
  const frames = clientFrameBytes(ids);
  const input = fc.oneof(
    { arbitrary: mutatedAny(frames), weight: 6 },
    { arbitrary: frames, weight: 2 },
    { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 2 },
  );
  return fc.sample(input, { numRuns: count, seed });
}

export type HttpKind = 'sync-json' | 'sync-protobuf' | 'device' | 'notice';

export interface HttpInput {
  kind: HttpKind;
  body: Buffer;
}

function httpInput(users: fc.Arbitrary<string>): fc.Arbitrary<HttpInput> {
  const syncJson = fc.record({ sync_key: fc.constant(''), limit: fc.nat({ max: 200 }) });
  const syncProtobuf = fc
    .record({ syncKey: fc.constant(''), limit: fc.nat({ max: 200 }) })
    .map((r) => SyncRequest.encode(r).finish());
  const device = fc.record({ platform: fc.constant('fcm'), token: fc.stringMatching(/^[\x21-\x7e]{8,64}$/) });
  const notice = fc.record({
    message_id: fc.stringMatching(/^[a-z0-9]{8,16}$/),
    target: fc.record({ users: fc.array(users, { minLength: 1, maxLength: 3 }) }),
    content: fc.record({ title: fc.constant('fuzz'), body: fc.string({ maxLength: 40 }) }),
  });
  const json = (kind: HttpKind, valid: fc.Arbitrary<unknown>) =>
    fc
      .oneof(
        { arbitrary: valid.chain(mutatedJson), weight: 6 },
        { arbitrary: anyBody, weight: 2 },
        {
          arbitrary: valid.map((v) => Buffer.from(JSON.stringify(v))),
          weight: 2,
        },
      )
      .map((body) => ({ kind, body }));
  return fc.oneof(
    json('sync-json', syncJson),
    syncProtobuf
      .chain((b) => mutatedRepeatedly(b))
      .map((b) => ({ kind: 'sync-protobuf' as const, body: Buffer.from(b) })),
    json('device', device),
    json('notice', notice),
  );
}

/** HTTP requests for one burst: sync, device registration and notice bodies. */
export function httpInputs(users: fc.Arbitrary<string>, seed: number, count: number): HttpInput[] {
  return fc.sample(httpInput(users), { numRuns: count, seed });
}
