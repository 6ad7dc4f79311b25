import { Message } from '../../proto/gen/im/v1/message.pb.ts';

/** A chat message like push hands to the gateway, with a body of `bytes` bytes (not a bench-latency body). */
export function benchMessage(bytes: number, seq = 1): Message {
  return Message.fromPartial({
    serverMsgId: '01JBENCH0000000000000000000',
    conversation: 'dm:bench-a:bench-b',
    fromUser: 'bench-a',
    fromDevice: 'd',
    clientMsgId: 'bench',
    seq,
    stream: 'inbox',
    sentAtMs: Date.now(),
    contentType: 'text/plain',
    body: Buffer.alloc(Math.max(0, bytes), 'x'),
  });
}

/** process.memoryUsage() after two full collections (when node runs with --expose-gc). */
export function gcAndMeasure(gc: boolean) {
  if (gc && globalThis.gc) {
    globalThis.gc();
    globalThis.gc();
  }
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}
