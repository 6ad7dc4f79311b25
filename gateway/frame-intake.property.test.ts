import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { WebSocket } from 'ws';
import { ClientFrame, ServerFrame } from '../proto/gen/im/v1/client.pb.ts';
import { createLogger } from '../lib/logger.ts';
import { clientFrameBytes, clientFrames } from '../test/fuzz/client-frames.ts';
import { mutatedAny } from '../test/fuzz/mutations.ts';
import { Connection } from './connection.ts';
import { FrameHandler, type FrameHandlerDeps } from './frame-handler.ts';
import { FrameIntake, leadingRequestId } from './frame-intake.ts';
import { Refusals } from './refusals.ts';

const MAX_FRAME_BYTES = 256;

/** Keeps what it is handed instead of answering it: the intake's side of the door is what is tested here. */
class Recorder extends FrameHandler {
  readonly frames: ClientFrame[] = [];
  constructor() {
    super({} as FrameHandlerDeps);
  }
  override handle(_conn: Connection, frame: ClientFrame): undefined {
    this.frames.push(frame);
    return undefined;
  }
}

/** A connection on a socket that keeps what is sent to it: a fresh one per case, so no budget carries over. */
function connection() {
  const sent: ServerFrame[] = [];
  const ws = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    send: (data: Uint8Array) => sent.push(ServerFrame.decode(data)),
    close: () => undefined,
    terminate: () => undefined,
  };
  const conn = new Connection(ws as unknown as WebSocket, 'c1', 'alice', 'phone', Date.now(), 1 << 20);
  return { conn, sent };
}

/** What the intake did with one frame: handed it on, or refused it with one error frame. */
function intake(data: Uint8Array): { frame?: ClientFrame; error?: { code: string; requestId: number } } {
  const handler = new Recorder();
  const limits = { frames: 100, bytes: 1 << 20, windowMs: 1_000 };
  const door = new FrameIntake(handler, new Refusals(createLogger('silent')), {
    limits,
    maxFrameBytes: MAX_FRAME_BYTES,
  });
  const { conn, sent } = connection();
  door.onFrame(conn, Buffer.from(data), true);
  assert.equal(handler.frames.length + sent.length, 1, 'one frame in: exactly one handed on or one refusal out');
  const [frame] = handler.frames;
  if (frame) return { frame };
  const reply = sent[0]!;
  assert.equal(reply.body?.$case, 'error');
  return { error: { code: reply.body.value.code, requestId: reply.requestId } };
}

/** A frame handed on is one the rest of the gateway can take: it re-encodes without a throw. */
function assertHandedOnOrRefused(data: Uint8Array): void {
  const { frame, error } = intake(data);
  if (frame) return void ClientFrame.encode(frame).finish();
  assert.ok(['BAD_FRAME', 'TOO_LARGE'].includes(error!.code), `refused with ${error!.code}`);
  if (error!.code === 'TOO_LARGE') assert.equal(error!.requestId, leadingRequestId(data));
}

describe('client frames at the gateway’s door, properties', () => {
  it('hands on every valid frame as it was sent', () => {
    fc.assert(
      fc.property(clientFrames(), (frame) => {
        const bytes = ClientFrame.encode(frame).finish();
        fc.pre(bytes.length <= MAX_FRAME_BYTES);
        const handed = intake(bytes).frame;
        assert.ok(handed, 'handed on');
        // As JSON: the decoder's bytes are a Buffer's view, the arbitrary's a plain Uint8Array.
        assert.deepEqual(ClientFrame.toJSON(handed), ClientFrame.toJSON(frame));
      }),
      { numRuns: 300 },
    );
  });

  it('hands on or refuses with BAD_FRAME or TOO_LARGE any bytes at all, never throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), assertHandedOnOrRefused), { numRuns: 500 });
  });

  it('hands on or refuses mutated valid frames: bit flips, truncations, extensions, duplicated fields', () => {
    fc.assert(fc.property(mutatedAny(clientFrameBytes()), assertHandedOnOrRefused), { numRuns: 500 });
  });

  it('refuses a text frame with BAD_FRAME', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        const handler = new Recorder();
        const door = new FrameIntake(handler, new Refusals(createLogger('silent')), {
          limits: { frames: 100, bytes: 1 << 20, windowMs: 1_000 },
          maxFrameBytes: MAX_FRAME_BYTES,
        });
        const { conn, sent } = connection();
        door.onFrame(conn, Buffer.from(text), false);
        assert.equal(handler.frames.length, 0);
        assert.equal(sent[0]?.body?.$case === 'error' && sent[0].body.value.code, 'BAD_FRAME');
      }),
      { numRuns: 100 },
    );
  });
});

describe('the request id read off a frame’s first bytes (for refusals before decoding), properties', () => {
  it('is the frame’s own request id for every valid frame', () => {
    fc.assert(
      fc.property(clientFrames(), (frame) => {
        assert.equal(leadingRequestId(ClientFrame.encode(frame).finish()), frame.requestId);
      }),
      { numRuns: 300 },
    );
  });

  it('is a uint32 for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        const id = leadingRequestId(bytes);
        assert.ok(Number.isInteger(id) && id >= 0 && id <= 0xffff_ffff, `${id}`);
      }),
      { numRuns: 500 },
    );
  });
});
