import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** Field numbers of ServerFrame's body (proto/im/v1/client.proto) for replies that arrive already encoded. */
export const ServerFrameBody = { sync: 13 } as const;

/**
 * A ServerFrame whose body is a message that is already protobuf bytes (e.g. a SyncResponse as sync's gRPC
 * answer carried it): an embedded message is encoded exactly like a bytes field, so the gateway forwards the
 * bytes instead of decoding a page of messages and encoding it again.
 */
export function encodedReply(requestId: number, field: number, body: Uint8Array): Uint8Array {
  const writer = new BinaryWriter();
  if (requestId !== 0) writer.uint32((1 << 3) | WireType.Varint).uint32(requestId);
  return writer
    .uint32((field << 3) | WireType.LengthDelimited)
    .bytes(body)
    .finish();
}
