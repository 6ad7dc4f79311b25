// Search freshness end to end: how long after a send is acknowledged its message can be found by search, measured
// through the SDK over real WebSockets against any gateway (the embedded server's, or a cluster's gateways: pass
// their URLs and a token maker the gateways trust). Each message goes from one user of a pair to the other and
// carries a word no other message has; from the moment its send resolves (the ack), the pair searches for that word
// until the hit names the message: at once, then every `pollEveryMs`, the two readers taking turns (each of them at
// most one search per 2 x pollEveryMs, under the service's per-user budget of 10 searches/s).
import { ImClient } from '../../client/sdk.ts';
import { Histogram, type Percentiles } from './histogram.ts';
import { sleep, wallMs } from './progress.ts';

export interface FreshnessOptions {
  /** Gateway WebSocket URLs (ws://host:port); pairs are spread over them round robin. */
  urls: string[];
  /** A token for a user's device that the gateways accept (e.g. localSigner(auth).sign(user, device, ttl)). */
  token: (user: string, device: string) => string | Promise<string>;
  /** User ids are `${userPrefix}a<k>` and `${userPrefix}b<k>`; words are made from it too (letters and digits). */
  userPrefix: string;
  /** Sender/recipient pairs; a pair has one message being looked for at a time. */
  pairs: number;
  messages: number;
  /** Sends per second offered (open loop, spread over the pairs). */
  ratePerSec: number;
  /** Between two searches for the same message (alternating readers); default 100. */
  pollEveryMs?: number;
  /** A message not found this long after its ack counts as not found; default 10,000. */
  timeoutMs?: number;
  /** Text around the unique word (realistic length and words); default a short sentence. */
  textOf?: (n: number) => string;
  log?: (line: string) => void;
}

export interface FreshnessResult {
  sent: number;
  found: number;
  notFound: number;
  failedSends: number;
  /** Send called to ack (the send resolved). */
  ackMs: Percentiles;
  /** Ack to the answer of the first search that found the message (includes that search's round trip). */
  ackToSearchableMs: Percentiles;
  /** Share found by the first search, sent right at the ack. */
  foundAtFirstSearch: number;
  /** Every search's round trip. */
  searchMs: Percentiles;
  searchesPerMessage: number;
  /** Sends per second achieved. */
  sentPerSec: number;
  pollEveryMs: number;
  pairs: number;
  /** Every ack-to-searchable time (ms), for a chart. */
  samples: number[];
}

/** Sends `messages` over `pairs` of SDK clients and measures ack to searchable for each (see the file's header). */
export async function measureFreshness(o: FreshnessOptions): Promise<FreshnessResult> {
  const pollEveryMs = o.pollEveryMs ?? 100;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const textOf = o.textOf ?? (() => 'see you at the station tomorrow morning');
  const clients: ImClient[] = [];
  const connect = async (user: string, url: string) => {
    const client = new ImClient({ url, token: () => o.token(user, 'd'), reconnect: false, requestTimeoutMs: 15_000 });
    clients.push(client);
    await client.connect();
    return client;
  };
  const ack = new Histogram();
  const fresh = new Histogram();
  const searchMs = new Histogram();
  const samples: number[] = [];
  let found = 0;
  let atFirst = 0;
  let searches = 0;
  let failedSends = 0;
  let sent = 0;
  const word = o.userPrefix.toLowerCase().replace(/[^a-z0-9]/g, '');
  try {
    const pairs: { a: ImClient; b: ImClient; b_user: string; busy: Promise<void> }[] = [];
    for (let k = 0; k < o.pairs; k += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, o.pairs - k) }, async (_, j) => {
          const url = o.urls[(k + j) % o.urls.length]!;
          const [a, b] = await Promise.all([
            connect(`${o.userPrefix}a${k + j}`, url),
            connect(`${o.userPrefix}b${k + j}`, url),
          ]);
          return { a, b, b_user: `${o.userPrefix}b${k + j}`, busy: Promise.resolve() };
        }),
      );
      pairs.push(...batch);
    }
    o.log?.(`freshness: ${o.pairs * 2} clients connected over ${o.urls.length} gateway(s)`);

    const lookFor = async (pair: (typeof pairs)[number], n: number) => {
      const probe = `${word}fresh${n}`;
      const startAt = wallMs();
      let result;
      try {
        result = await pair.a.send({ user: pair.b_user }, { text: `${textOf(n)} ${probe}` });
      } catch {
        failedSends++;
        return;
      }
      sent++;
      const ackAt = wallMs();
      ack.record(ackAt - startAt);
      for (let tries = 0; wallMs() - ackAt < timeoutMs; tries++) {
        const reader = tries % 2 === 0 ? pair.b : pair.a;
        const asked = wallMs();
        let hit = false;
        try {
          const page = await reader.search({ text: probe, limit: 5 });
          hit = page.hits.some((h) => h.serverMsgId === result.serverMsgId);
        } catch {
          // Counted as a miss; the next try goes on.
        }
        const answered = wallMs();
        searches++;
        searchMs.record(answered - asked);
        if (hit) {
          found++;
          if (tries === 0) atFirst++;
          fresh.record(answered - ackAt);
          samples.push(answered - ackAt);
          return;
        }
        await sleep(Math.max(0, asked + pollEveryMs - wallMs()));
      }
    };

    const t0 = wallMs();
    const gapMs = 1000 / o.ratePerSec;
    const running: Promise<void>[] = [];
    for (let n = 0; n < o.messages; n++) {
      await sleep(Math.max(0, t0 + n * gapMs - wallMs()));
      const pair = pairs[n % pairs.length]!;
      // One message per pair at a time: the next waits for the pair's previous to be found (or given up).
      const turn = pair.busy.then(() => lookFor(pair, n));
      pair.busy = turn;
      running.push(turn);
    }
    await Promise.all(running);
    const sentPerSec = Math.round((sent / Math.max(0.001, (wallMs() - t0) / 1000)) * 10) / 10;
    return {
      sent,
      found,
      notFound: sent - found,
      failedSends,
      ackMs: ack.summary(),
      ackToSearchableMs: fresh.summary(),
      foundAtFirstSearch: sent > 0 ? Math.round((atFirst / sent) * 1000) / 1000 : 0,
      searchMs: searchMs.summary(),
      searchesPerMessage: sent > 0 ? Math.round((searches / sent) * 100) / 100 : 0,
      sentPerSec,
      pollEveryMs,
      pairs: o.pairs,
      samples,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}
