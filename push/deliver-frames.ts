import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { Message } from '../proto/gen/im/v1/message.pb.ts';

/** ServerFrame.deliver (field 12) and Deliver.messages (field 1): both length-delimited. */
const DELIVER_TAG = (12 << 3) | WireType.LengthDelimited;
const MESSAGES_TAG = (1 << 3) | WireType.LengthDelimited;
/** What one message adds to a frame besides its bytes: its tag and length. */
const ENTRY_OVERHEAD = 6;

/**
 * `messages` as Deliver frames (ServerFrames, request id 0) of at most about `maxBytes` each, in order; a message
 * over it goes alone. Each message is encoded once: its bytes both measure it and go into the frame, written as
 * `ServerFrame.encode` would write them.
 */
export function deliverFrames(messages: readonly Message[], maxBytes: number): Buffer[] {
  const frames: Buffer[] = [];
  let batch: Uint8Array[] = [];
  let bytes = 0;
  for (const m of messages) {
    const encoded = Message.encode(m).finish();
    const size = encoded.length + ENTRY_OVERHEAD;
    if (batch.length > 0 && bytes + size > maxBytes) {
      frames.push(framed(batch));
      batch = [];
      bytes = 0;
    }
    batch.push(encoded);
    bytes += size;
  }
  if (batch.length > 0) frames.push(framed(batch));
  return frames;
}

function framed(encoded: readonly Uint8Array[]): Buffer {
  const writer = new BinaryWriter().uint32(DELIVER_TAG).fork();
  for (const bytes of encoded) writer.uint32(MESSAGES_TAG).bytes(bytes);
  return Buffer.from(writer.join().finish());
}
