import { concat, field } from './bytes.ts';

/** Associated data of a pairwise ciphertext: it opens only as this message, from this device, to that device. */
export function pairwiseAd(a: {
  conversation: string;
  fromUser: string;
  fromDevice: string;
  toUser: string;
  toDevice: string;
  clientMsgId: string;
}): Uint8Array {
  return concat(
    field('im.e2e.v1 pairwise'),
    field(a.conversation),
    field(a.fromUser),
    field(a.fromDevice),
    field(a.toUser),
    field(a.toDevice),
    field(a.clientMsgId),
  );
}

/** Associated data of a group ciphertext: it opens only as this message of this group, from this device. */
export function groupAd(a: {
  conversation: string;
  fromUser: string;
  fromDevice: string;
  clientMsgId: string;
}): Uint8Array {
  return concat(
    field('im.e2e.v1 group'),
    field(a.conversation),
    field(a.fromUser),
    field(a.fromDevice),
    field(a.clientMsgId),
  );
}
