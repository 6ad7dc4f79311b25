import type { ServerFrame } from '../proto/gen/im/v1/client.pb.ts';
import { ImError } from '../lib/errors.ts';

/** A server frame's body: the reply to a request, a pushed message, or an error. */
export type ReplyBody = NonNullable<ServerFrame['body']>;
type ReplyValues = { [B in ReplyBody as B['$case']]: B['value'] };

/** The value of a reply of the kind asked for; BAD_FRAME if the server answered with another. */
export function expectReply<C extends keyof ReplyValues>(body: ReplyBody, $case: C): ReplyValues[C] {
  if (body.$case !== $case) throw new ImError('BAD_FRAME', `expected ${$case}, got ${body.$case}`);
  return body.value as ReplyValues[C];
}
