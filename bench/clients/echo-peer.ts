// A bench child for the ceilings scenario's loopback round trip: one peer echoes what it reads, the other sends a
// small message and waits for it to come back, a bounded number of times, and reports the round trips. The runner
// pins the two to one core or to two (taskset), since that is what latency between processes depends on here.
import net from 'node:net';
import { Histogram, type HistogramData } from '../lib/histogram.ts';
import { serve } from '../lib/rpc.ts';

const MESSAGE = Buffer.alloc(32, 1);
let server: net.Server | undefined;

const handlers = {
  async listen(): Promise<number> {
    server = net.createServer((socket) => {
      socket.setNoDelay(true);
      socket.on('data', (data) => socket.write(data));
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  },

  /** `count` round trips of one 32-byte message, or as many as fit in `timeoutMs`. */
  async roundTrips({ port, count, timeoutMs }: { port: number; count: number; timeoutMs: number }) {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const histogram = new Histogram();
    const deadline = performance.now() + timeoutMs;
    try {
      for (let i = 0; i < count && performance.now() < deadline; i++) {
        const t0 = performance.now();
        await new Promise<void>((resolve, reject) => {
          let got = 0;
          const onData = (data: Buffer) => {
            got += data.length;
            if (got < MESSAGE.length) return;
            socket.off('data', onData).off('error', reject);
            resolve();
          };
          socket.on('data', onData).once('error', reject);
          socket.write(MESSAGE);
        });
        histogram.record(performance.now() - t0);
      }
    } finally {
      socket.destroy();
    }
    return histogram.toData() satisfies HistogramData;
  },
};

export type EchoPeerApi = typeof handlers;

serve(handlers);
