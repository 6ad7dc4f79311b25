// Scenario 9, message search (issue 23). Documents shaped like real messages (bench/lib/search-corpus.ts: 1:1
// messages with 2 readers, small groups with several, a few large-group and notice timeline entries, a fifth of
// them Chinese or Japanese, Zipf-distributed words), made on demand, the same in every walk.
// (1) Elasticsearch (the engine infra/ runs, one node): M messages over U users through EsSearchIndex.apply() in
//     this process, W concurrent callers of one op each as the indexing consumer calls it: messages/s, CPU of this
//     process and of Elasticsearch. Baseline in the same run: the engine's ceiling for the same documents without
//     our read-fold-write, plain _bulk index requests of the same JSON (prepared beforehand) into a scratch index
//     made by the same template, as many per request and in flight as the adapter sends.
//     Then queries: a random user's search for one or two words of one of their own messages (newest first, a page
//     of 20, their scopes as the search service computes them), one at a time and 8 in flight: p50/p99; baseline the
//     same match query without the permission filter (a raw search call). And apply-to-searchable at the adapter.
// (2) Embedded (MiniSearchIndex in a data directory of its own on disk): a smaller set the same way; baselines
//     MiniSearch's own addAll of the same documents and its raw search.
// (3) Freshness end to end in embedded mode: the embedded server started on that data directory (its index
//     rebuilt at start: time until it answers), messages sent over real WebSockets with the SDK, ack to searchable
//     (bench/lib/search-freshness.ts, which takes any gateway URLs and token maker, so a cluster with its search
//     process can be measured the same way; that part is not in this scenario yet).
// Where the Elasticsearch indexing target is missed, that part runs once more with this process's CPU profiled.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import MiniSearch from 'minisearch';
import { ImClient } from '../../client/sdk.ts';
import { up as enginesUp } from '../../infra/engines.ts';
import { openDataDir } from '../../lib/data-dir.ts';
import { newServerMsgId } from '../../lib/ids.ts';
import { localSigner } from '../../lib/local-auth.ts';
import { indexOfDoc, messagesAlias, putMessagesTemplate, WORDS_ANALYZER } from '../../search/es-indices.ts';
import {
  EsSearchIndex,
  MiniSearchIndex,
  type EsLayout,
  type SearchDoc,
  type SearchIndex,
  type SearchRequest,
} from '../../search/index.ts';
import { parseQueryText } from '../../search/query-text.ts';
import { HIT_FIELDS } from '../../search/search-index.elasticsearch.ts';
import { tokenize } from '../../search/words.ts';
import { inclusiveLines, nativeLines, profileLines, selfProfiler, type ProfileSummary } from '../lib/cpu-profile.ts';
import { enginePids, startBenchCluster, startGatewayServer, type Ctx, type Flags } from '../lib/fleet.ts';
import { Histogram, type Percentiles } from '../lib/histogram.ts';
import { CpuMeter, PidsCpu } from '../lib/machine.ts';
import { sleep, wallMs } from '../lib/progress.ts';
import { checkTarget, round, stamp, writeResult, type Target } from '../lib/result.ts';
import { Corpus, rng, type CorpusStats } from '../lib/search-corpus.ts';
import { measureFreshness, type FreshnessResult } from '../lib/search-freshness.ts';
import { PALETTE, type Chart } from '../lib/svg.ts';

/** The search scenario's own flags (bench/run.ts). */
export interface SearchFlags {
  /** Messages indexed into Elasticsearch. */
  messages?: number;
  /** Messages indexed into the embedded MiniSearch index. */
  embeddedMessages?: number;
  /** Concurrent apply() callers. */
  writers?: number;
  /** Queries per measurement. */
  queries?: number;
}

const SIZES = {
  tiny: {
    esMessages: 3_000,
    esUsers: 100,
    miniMessages: 2_000,
    writers: 200,
    queries: 60,
    esFreshness: 6,
    freshMessages: 12,
    freshRate: 10,
    freshPairs: 6,
    profileMessages: 3_000,
  },
  default: {
    esMessages: 1_000_000,
    esUsers: 10_000,
    miniMessages: 200_000,
    writers: 2_000,
    queries: 2_000,
    esFreshness: 40,
    freshMessages: 400,
    freshRate: 40,
    freshPairs: 80,
    profileMessages: 150_000,
  },
  large: {
    esMessages: 3_000_000,
    esUsers: 30_000,
    miniMessages: 500_000,
    writers: 2_000,
    queries: 5_000,
    esFreshness: 80,
    freshMessages: 1_000,
    freshRate: 50,
    freshPairs: 100,
    profileMessages: 200_000,
  },
};
type Size = (typeof SIZES)['default'];

const TARGETS = { esPerSec: 10_000, queryP99Ms: 50, freshP99Ms: 2_000 };
/** What the adapter sends per bulk request and in flight (its defaults): the baseline sends the same. */
const BULK_DOCS = 1_000;
const BULK_IN_FLIGHT = 4;
const PAGE = 20;
const IN_FLIGHT_QUERIES = 8;
const WARMUP_QUERIES = 30;
const QUERY_SET_MAX_MS = 120_000;
const RAW_MINISEARCH_MAX_MS = 30_000;
const PROFILE_INTERVAL_US = 1_000;
const PERCENTS = [50, 75, 90, 95, 99, 99.9];

// ---- measuring a stretch of indexing ----

interface IndexRun {
  messages: number;
  wallSec: number;
  perSec: number;
  /** This process's CPU while it ran: cores, and µs per message. */
  benchCores: number;
  benchCpuUsPerMsg: number;
  /** Elasticsearch's CPU while it ran (absent for the embedded index). */
  esCores?: number;
  esCpuUsPerMsg?: number;
  /** The whole machine's busy share (all cores) while it ran, and the cores other processes used meanwhile. */
  machineBusy: number;
  otherCores: number;
  /** The 1-minute load average as it ended (other sessions share this machine). */
  loadAverage: number;
  /** [seconds since start, messages/s in that second]. */
  progress: [number, number][];
}

/** Runs `fn` (which calls `done(n)` as messages complete), sampling rate and CPU; a progress line every 5 s. */
async function measure(
  ctx: Ctx,
  what: string,
  total: number,
  esPid: number | undefined,
  fn: (done: (n: number) => void) => Promise<void>,
): Promise<IndexRun> {
  let count = 0;
  const progress: [number, number][] = [];
  const machineCpu = new CpuMeter();
  const es = esPid ? new PidsCpu({ es: esPid }) : undefined;
  const cpu0 = process.cpuUsage();
  const t0 = wallMs();
  let lastAt = t0;
  let lastCount = 0;
  let lastLog = t0;
  const timer = setInterval(() => {
    const now = wallMs();
    progress.push([round((now - t0) / 1000, 1), Math.round(((count - lastCount) * 1000) / (now - lastAt))]);
    lastAt = now;
    lastCount = count;
    if (now - lastLog >= 5_000) {
      lastLog = now;
      ctx.log(`${what}: ${count}/${total} (${Math.round((count * 1000) / (now - t0))}/s so far)`);
    }
  }, 1_000);
  let esCores: number | undefined;
  try {
    await fn((n) => (count += n));
  } finally {
    clearInterval(timer);
    esCores = es?.sample().es;
  }
  const wallSec = (wallMs() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  const cpuMs = (used.user + used.system) / 1000;
  const benchCores = round(cpuMs / 1000 / wallSec, 2);
  const machineBusy = machineCpu.sample();
  const run: IndexRun = {
    messages: count,
    wallSec: round(wallSec, 2),
    perSec: Math.round(count / wallSec),
    benchCores,
    benchCpuUsPerMsg: round((cpuMs * 1000) / Math.max(1, count), 1),
    machineBusy,
    otherCores: Math.max(0, round(machineBusy * cpus().length - benchCores - (esCores ?? 0), 2)),
    loadAverage: round(loadavg()[0]!, 2),
    progress,
  };
  if (esCores !== undefined) {
    run.esCores = esCores;
    run.esCpuUsPerMsg = round((esCores * wallSec * 1e6) / Math.max(1, count), 1);
  }
  return run;
}

const runLine = (r: IndexRun) =>
  `${r.messages} in ${r.wallSec} s: ${r.perSec}/s; this process ${r.benchCores} cores (${r.benchCpuUsPerMsg} µs/msg)` +
  (r.esCores !== undefined ? `, Elasticsearch ${r.esCores} cores (${r.esCpuUsPerMsg} µs/msg)` : '') +
  `, other processes ${r.otherCores} cores (machine ${Math.round(r.machineBusy * 100)}% busy, load ${r.loadAverage})`;

/** `writers` callers, each applying one upsert at a time (as the indexing consumer hands them over) until none is left. */
async function applyAll(index: SearchIndex, docs: Iterator<SearchDoc>, writers: number, done: (n: number) => void) {
  const writer = async () => {
    for (let next = docs.next(); !next.done; next = docs.next()) {
      await index.apply([{ op: 'upsert', doc: next.value }]);
      done(1);
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
}

// ---- Elasticsearch ----

/** A document as EsSearchIndex stores it (search-index.elasticsearch.ts `stored`): the baseline sends the same JSON. */
function storedJson(doc: SearchDoc, words: string): object {
  return {
    id: doc.id,
    conversation: doc.conversation,
    kind: doc.kind,
    fromUser: doc.fromUser,
    sentAtMs: doc.sentAtMs,
    text: doc.text,
    words,
    readers: doc.readers.map((r) => r.user),
    inbox: doc.readers.map((r) => ({ user: r.user, seq: r.seq })),
    ...(doc.timeline ? { timelineStream: doc.timeline.stream, timelineSeq: doc.timeline.seq } : {}),
    ...(doc.notice ? { noticeAppId: doc.notice.appId, noticeAudience: doc.notice.audience } : {}),
    ...(doc.notice && doc.notice.expireAtMs > 0 ? { expireAtMs: doc.notice.expireAtMs } : {}),
  };
}

interface Prepared {
  bodies: Buffer[];
  counts: number[];
  bytes: number;
  /** Per message, in this process: making the document, segmenting its words, and JSON. */
  genUsPerMsg: number;
  tokenizeUsPerMsg: number;
  jsonUsPerMsg: number;
  wordsPerMessage: number;
}

/** The _bulk bodies (NDJSON, `index` actions) of the corpus's first `count` documents, BULK_DOCS per body. */
function prepareBulk(corpus: Corpus, layout: EsLayout, count: number): Prepared {
  const bodies: Buffer[] = [];
  const counts: number[] = [];
  let lines: string[] = [];
  let [gen, tok, json, words, bytes] = [0, 0, 0, 0, 0];
  const flush = () => {
    if (lines.length === 0) return;
    const body = Buffer.from(lines.join('\n') + '\n');
    bytes += body.length;
    bodies.push(body);
    counts.push(lines.length / 2);
    lines = [];
  };
  const it = corpus.docs(count);
  for (let t0 = performance.now(); ; t0 = performance.now()) {
    const next = it.next();
    const t1 = performance.now();
    if (next.done) break;
    const doc = next.value;
    const w = tokenize(doc.text);
    const t2 = performance.now();
    lines.push(JSON.stringify({ index: { _index: indexOfDoc(layout, doc.id), _id: doc.id } }));
    lines.push(JSON.stringify(storedJson(doc, w.join(' '))));
    const t3 = performance.now();
    [gen, tok, json, words] = [gen + t1 - t0, tok + t2 - t1, json + t3 - t2, words + w.length];
    if (lines.length >= BULK_DOCS * 2) flush();
  }
  flush();
  const n = Math.max(
    1,
    counts.reduce((a, b) => a + b, 0),
  );
  return {
    bodies,
    counts,
    bytes,
    genUsPerMsg: round((gen * 1000) / n, 2),
    tokenizeUsPerMsg: round((tok * 1000) / n, 2),
    jsonUsPerMsg: round((json * 1000) / n, 2),
    wordsPerMessage: round(words / n, 2),
  };
}

/**
 * Sends the prepared bodies, BULK_IN_FLIGHT at a time. What Elasticsearch refuses for load (a 429: its circuit
 * breaker or a full write queue, the whole request or some items) is sent again after 100 ms, doubling, as the adapter
 * does; any other refusal fails the run.
 */
async function sendBulks(es: Client, p: Prepared, done: (n: number) => void): Promise<void> {
  let next = 0;
  const sendOne = async (whole: Buffer, count: number) => {
    let body: Buffer | string = whole;
    for (let tries = 1; ; tries++) {
      if (tries > 1) await sleep(100 * 2 ** (tries - 2));
      let answer: { errors: boolean; items?: Record<string, { status: number; error?: unknown }>[] };
      try {
        answer = (
          await es.bulk<typeof answer, Buffer | string>({ body, filter_path: 'errors,items.*.status,items.*.error' })
        ).body;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (tries < 8 && (status === 429 || status === 503)) continue;
        throw err;
      }
      if (!answer.errors) return done(count);
      const lines = body.toString().split('\n');
      const again: string[] = [];
      for (const [i, item] of (answer.items ?? []).entries()) {
        const { status, error } = Object.values(item)[0]!;
        if (status === 429 && tries < 8) again.push(lines[2 * i]!, lines[2 * i + 1]!);
        else if (status >= 300) throw new Error(`bulk item refused: ${status} ${JSON.stringify(error).slice(0, 300)}`);
      }
      done(count - again.length / 2);
      if (again.length === 0) return;
      count = again.length / 2;
      body = again.join('\n') + '\n';
    }
  };
  const lane = async () => {
    for (let k = next++; k < p.bodies.length; k = next++) await sendOne(p.bodies[k]!, p.counts[k]!);
  };
  await Promise.all(Array.from({ length: BULK_IN_FLIGHT }, lane));
}

async function dropPrefix(es: Client, prefix: string): Promise<void> {
  const alias = messagesAlias({ prefix });
  await es.indices.delete({ index: `${alias}-*` }).catch(() => undefined);
  await es.indices.deleteIndexTemplate({ name: alias }).catch(() => undefined);
}

interface QuerySpec {
  user: number;
  text: string;
  /** Documents in the user's inbox (what a permission filter or a scan has to go through). */
  userDocs: number;
}

/** Users by the documents their inbox holds; the embedded index scans up to 2,000 itself, MiniSearch past that. */
const DOC_BUCKETS = [100, 500, 2_000, Infinity];
const bucketName = (max: number, i: number) => (max === Infinity ? `over${DOC_BUCKETS[i - 1]}` : `upTo${max}`);

interface QueryRun {
  queries: number;
  withHits: number;
  latencyMs: Percentiles;
  /** The same latencies by the user's documents (DOC_BUCKETS). */
  byUserDocs: Record<string, Percentiles>;
  perSec: number;
  inFlight: number;
  /** [percent, ms] for the chart. */
  curve: [number, number][];
}

/** Runs the queries `inFlight` at a time (after a few unrecorded warm-up ones), bounded by count and time. */
async function runQueries(
  specs: QuerySpec[],
  inFlight: number,
  one: (q: QuerySpec) => Promise<number>,
  maxMs = QUERY_SET_MAX_MS,
): Promise<QueryRun> {
  for (const q of specs.slice(0, WARMUP_QUERIES)) await one(q);
  const h = new Histogram();
  const buckets = DOC_BUCKETS.map(() => new Histogram());
  let withHits = 0;
  let next = 0;
  const t0 = wallMs();
  const lane = async () => {
    for (let k = next++; k < specs.length && wallMs() - t0 < maxMs; k = next++) {
      const spec = specs[k]!;
      const at = wallMs();
      const hits = await one(spec);
      const ms = wallMs() - at;
      h.record(ms);
      buckets[DOC_BUCKETS.findIndex((max) => spec.userDocs <= max)]!.record(ms);
      if (hits > 0) withHits++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return {
    queries: h.count,
    withHits,
    latencyMs: h.summary(),
    byUserDocs: Object.fromEntries(DOC_BUCKETS.map((max, i) => [bucketName(max, i), buckets[i]!.summary()])),
    perSec: Math.round((h.count * 1000) / Math.max(1, wallMs() - t0)),
    inFlight,
    curve: PERCENTS.map((p) => [p, round(h.quantile(p / 100), 2)]),
  };
}

const queryLine = (q: QueryRun) =>
  `${q.queries} queries, ${q.inFlight} in flight: p50 ${q.latencyMs.p50} p99 ${q.latencyMs.p99} max ` +
  `${q.latencyMs.max} ms, ${q.perSec}/s; ${q.withHits} with hits; p99 by the user's documents: ${byDocs(q)}`;

function requestOf(corpus: Corpus, q: QuerySpec): SearchRequest {
  return { user: corpus.user(q.user), scopes: corpus.scopes(q.user), text: q.text, order: 'newest', limit: PAGE };
}

/** Apply to searchable at the adapter: new documents applied a few at a time, each searched for every 25 ms. */
async function adapterFreshness(
  index: SearchIndex,
  prefix: string,
  count: number,
): Promise<Percentiles & { samples: number[] }> {
  const h = new Histogram();
  const samples: number[] = [];
  const r = rng(99);
  let next = 0;
  const lane = async () => {
    for (let n = next++; n < count; n = next++) {
      const user = `${prefix}fresh${n}`;
      const word = `${prefix}probe${n}`.toLowerCase();
      const now = Date.now();
      const id = newServerMsgId();
      await index.apply([
        {
          op: 'upsert',
          doc: {
            id,
            conversation: `dm:${user}:${user}x`,
            kind: 'dm',
            fromUser: user,
            sentAtMs: now,
            text: `where is the ${word} today`,
            readers: [{ user, seq: 1 }],
          },
        },
      ]);
      const appliedAt = wallMs();
      for (; wallMs() - appliedAt < 10_000; await sleep(25)) {
        const page = await index.search({
          user,
          scopes: { timelines: [], noticesToAll: true, noticeTags: [] },
          text: word,
          order: 'newest',
          limit: 1,
        });
        if (page.hits.length > 0) {
          h.record(wallMs() - appliedAt);
          samples.push(wallMs() - appliedAt);
          break;
        }
      }
      await sleep(Math.floor(r() * 200));
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  return { ...h.summary(), samples };
}

let profiles: Record<string, ProfileSummary & { file: string }> = {};
let startedAt = '';

async function elasticsearch(
  ctx: Ctx,
  size: Size,
  o: { messages: number; users: number; writers: number; queries: number },
) {
  const endpoints = await enginesUp(['elasticsearch'], { onProgress: (line) => ctx.log(line) });
  const es = new Client({ node: endpoints.elasticsearch.node, requestTimeout: 120_000 });
  // Requests Elasticsearch refused for load (429, its circuit breaker or a full queue), whoever sent them.
  let refused = 0;
  es.on('response', (err, meta) => {
    if (err && meta.statusCode === 429) refused++;
  });
  const refusedIn = async <T>(fn: () => Promise<T>): Promise<T & { refusedForLoad: number }> => {
    const before = refused;
    const out = await fn();
    return { ...out, refusedForLoad: refused - before };
  };
  // Read again for every measurement: another session may have restarted the engine meanwhile.
  const esPid = async () => (await enginePids()).elasticsearch;
  const base = `im-bench-${ctx.runId}`.toLowerCase();
  const prefixes = { warm: `${base}-warm`, ceiling: `${base}-bulk`, ours: `${base}-apply`, profiled: `${base}-prof` };
  const corpus = new Corpus({ messages: o.messages, users: o.users, prefix: `${ctx.runId}-` });
  try {
    for (const prefix of Object.values(prefixes)) await putMessagesTemplate(es, { prefix }, { replicas: 0 });

    // The engine's ceiling: the same documents' JSON, prepared first, sent as plain _bulk index requests.
    const warm = prepareBulk(corpus, { prefix: prefixes.warm }, Math.min(20_000, Math.ceil(o.messages / 20)));
    await sendBulks(es, warm, () => undefined);
    await dropPrefix(es, prefixes.warm);
    ctx.log(`Elasticsearch warmed up with ${warm.counts.reduce((a, b) => a + b, 0)} documents (dropped)`);
    const t0 = wallMs();
    let prepared: Prepared | undefined = prepareBulk(corpus, { prefix: prefixes.ceiling }, o.messages);
    const prep = { ...prepared, bodies: undefined, counts: undefined, prepareSec: round((wallMs() - t0) / 1000, 1) };
    ctx.log(
      `prepared ${o.messages} documents as _bulk bodies (${Math.round(prepared.bytes / 2 ** 20)} MiB) in ` +
        `${prep.prepareSec} s: making them ${prep.genUsPerMsg} µs/msg, words ${prep.tokenizeUsPerMsg} µs/msg ` +
        `(${prep.wordsPerMessage} words/msg), JSON ${prep.jsonUsPerMsg} µs/msg`,
    );
    const ceilingData = prepared;
    const ceiling = await refusedIn(async () =>
      measure(ctx, 'ES _bulk ceiling', o.messages, await esPid(), (done) => sendBulks(es, ceilingData, done)),
    );
    prepared = undefined;
    ctx.log(
      `ES _bulk ceiling (plain index requests, ${BULK_DOCS} per request, ${BULK_IN_FLIGHT} in flight): ` +
        `${runLine(ceiling)}; ${ceiling.refusedForLoad} requests refused for load (429), sent again`,
    );
    await dropPrefix(es, prefixes.ceiling);

    // Through the adapter, `writers` concurrent callers of one op each.
    const index = new EsSearchIndex({ es, prefix: prefixes.ours });
    const indexing = await refusedIn(async () =>
      measure(ctx, 'ES apply()', o.messages, await esPid(), (done) => applyAll(index, corpus.docs(), o.writers, done)),
    );
    ctx.log(
      `ES apply(), ${o.writers} concurrent callers: ${runLine(indexing)}; ${indexing.refusedForLoad} requests ` +
        'refused for load (429), sent again',
    );
    const corpusStats = corpus.stats();
    const alias = messagesAlias({ prefix: prefixes.ours });
    await es.indices.refresh({ index: alias });
    const { body: countBody } = await es.count<{ count: number }>({ index: alias });
    if (countBody.count !== o.messages) throw new Error(`${countBody.count} documents indexed of ${o.messages}`);

    // Queries: a random user's words, through the adapter and raw.
    const r = rng(7);
    const specs: QuerySpec[] = Array.from({ length: o.queries + WARMUP_QUERIES }, () => {
      const q = corpus.query(r, tokenize);
      return { ...q, userDocs: corpus.docsOf(q.user) };
    });
    const ours = await runQueries(specs, 1, async (q) => (await index.search(requestOf(corpus, q))).hits.length);
    ctx.log(`ES search(), a user's own messages: ${queryLine(ours)}`);
    const oursLoaded = await runQueries(
      specs,
      IN_FLIGHT_QUERIES,
      async (q) => (await index.search(requestOf(corpus, q))).hits.length,
    );
    ctx.log(`ES search(): ${queryLine(oursLoaded)}`);
    const raw = await runQueries(specs, 1, async (q) => {
      const words = parseQueryText(q.text).words.join(' ');
      const { body } = await es.search<{ hits: { hits: unknown[] } }>({
        index: alias,
        body: {
          size: PAGE + 1,
          track_total_hits: false,
          query: {
            bool: {
              must: [{ match: { words: { query: words, operator: 'and', analyzer: WORDS_ANALYZER } } }],
              must_not: [{ term: { deleted: true } }],
            },
          },
          sort: [{ sentAtMs: 'desc' }, { id: 'desc' }],
          _source: HIT_FIELDS,
        },
      });
      return body.hits.hits.length;
    });
    ctx.log(`ES raw match query, no permission filter: ${queryLine(raw)}`);
    const fresh = await adapterFreshness(index, `${ctx.runId}es`, size.esFreshness);
    ctx.log(`ES apply() to searchable (refresh interval 1 s): p50 ${fresh.p50} p99 ${fresh.p99} max ${fresh.max} ms`);

    let profiledRun: IndexRun | undefined;
    if (indexing.perSec < TARGETS.esPerSec) {
      const count = Math.min(o.messages, size.profileMessages);
      const profiler = selfProfiler();
      const saveTo = join(ctx.out, `search-${stamp(new Date(startedAt))}-es-indexing.cpuprofile`);
      mkdirSync(ctx.out, { recursive: true });
      const again = new EsSearchIndex({ es, prefix: prefixes.profiled });
      await profiler.start({ intervalUs: PROFILE_INTERVAL_US });
      let summary: ProfileSummary;
      try {
        profiledRun = await measure(ctx, 'ES apply() profiled', count, await esPid(), (done) =>
          applyAll(again, corpus.docs(count), o.writers, done),
        );
      } finally {
        summary = await profiler.stop({ top: 20, saveTo });
      }
      ctx.log(`ES apply() once more with this process profiled: ${runLine(profiledRun)}`);
      ctx.log(`profile (${summary.busyMs} ms busy of ${summary.wallMs} ms; ${saveTo}): self time`);
      for (const line of profileLines(summary, 10)) ctx.log(`  ${line}`);
      ctx.log('native time by its caller:');
      for (const line of nativeLines(summary, 6)) ctx.log(`  ${line}`);
      ctx.log('inclusive time of our code:');
      for (const line of inclusiveLines(summary, 12)) ctx.log(`  ${line}`);
      profiles['ES indexing'] = { ...summary, file: basename(saveTo) };
      await dropPrefix(es, prefixes.profiled);
    }
    return {
      corpus: corpusStats,
      prepared: prep,
      indexing: { ...indexing, writers: o.writers },
      ceiling: { ...ceiling, docsPerRequest: BULK_DOCS, inFlight: BULK_IN_FLIGHT },
      ...(profiledRun ? { profiledIndexing: profiledRun } : {}),
      queries: { alone: ours, inFlight: oursLoaded, raw },
      applyToSearchableMs: fresh,
    };
  } finally {
    for (const prefix of Object.values(prefixes)) await dropPrefix(es, prefix);
    await es.close();
  }
}

// ---- embedded ----

async function embedded(
  ctx: Ctx,
  size: Size,
  dir: string,
  o: { messages: number; users: number; writers: number; queries: number },
) {
  const corpus = new Corpus({ messages: o.messages, users: o.users, prefix: `${ctx.runId}-` });
  // Baseline: MiniSearch alone, the same options as the adapter, addAll of the same documents.
  const docs = [...corpus.docs()].map((d) => ({ id: d.id, text: d.text }));
  const mini = new MiniSearch<{ id: string; text: string }>({
    fields: ['text'],
    tokenize,
    processTerm: (term) => term,
    searchOptions: { tokenize, processTerm: (term) => term, combineWith: 'AND' },
  });
  const ceiling = await measure(ctx, 'MiniSearch addAll', o.messages, undefined, (done) => {
    mini.addAll(docs);
    done(docs.length);
    return Promise.resolve();
  });
  ctx.log(`MiniSearch addAll of the same documents: ${runLine(ceiling)}`);

  const data = openDataDir(dir, 'normal');
  let indexing: IndexRun;
  let ours: QueryRun;
  let raw: QueryRun;
  let corpusStats: CorpusStats;
  try {
    const index = new MiniSearchIndex({ db: data.db });
    await index.ready;
    indexing = await measure(ctx, 'MiniSearchIndex apply()', o.messages, undefined, (done) =>
      applyAll(index, corpus.docs(), o.writers, done),
    );
    ctx.log(`MiniSearchIndex apply() (data directory on disk), ${o.writers} concurrent callers: ${runLine(indexing)}`);
    corpusStats = corpus.stats();
    const r = rng(7);
    const specs: QuerySpec[] = Array.from({ length: o.queries + WARMUP_QUERIES }, () => {
      const q = corpus.query(r, tokenize);
      return { ...q, userDocs: corpus.docsOf(q.user) };
    });
    ours = await runQueries(specs, 1, async (q) => (await index.search(requestOf(corpus, q))).hits.length);
    ctx.log(`MiniSearchIndex search(), a user's own messages: ${queryLine(ours)}`);
    raw = await runQueries(
      specs,
      1,
      (q) => Promise.resolve(mini.search(q.text, { combineWith: 'AND' }).slice(0, PAGE + 1).length),
      RAW_MINISEARCH_MAX_MS,
    );
    ctx.log(`MiniSearch raw search (everyone's documents, no permission rule): ${queryLine(raw)}`);
  } finally {
    data.close();
  }
  return {
    corpus: corpusStats,
    indexing: { ...indexing, writers: o.writers },
    ceiling,
    queries: { alone: ours, raw },
  };
}

/**
 * Send acknowledged to searchable over `urls` at this size's rate, with a corpus and users of the mode's own (the
 * embedded and the cluster part never find each other's words), and its line in the log.
 */
async function freshnessOver(
  ctx: Ctx,
  size: Size,
  mode: 'embedded' | 'cluster',
  urls: string[],
  token: (user: string, device: string) => string,
): Promise<FreshnessResult> {
  const tag = mode === 'embedded' ? 'f' : 'c';
  const corpus = new Corpus({ messages: 10_000, users: 10, prefix: tag });
  const result = await measureFreshness({
    urls,
    token,
    userPrefix: `${ctx.runId}${tag}`,
    pairs: size.freshPairs,
    messages: size.freshMessages,
    ratePerSec: size.freshRate,
    textOf: (n) => corpus.text(n),
    log: ctx.log,
  });
  ctx.log(
    `freshness (${mode}, over WebSockets): ${result.found}/${result.sent} found; ack to searchable p50 ` +
      `${result.ackToSearchableMs.p50} p99 ${result.ackToSearchableMs.p99} max ${result.ackToSearchableMs.max} ms ` +
      `(${Math.round(result.foundAtFirstSearch * 100)}% by the first search at the ack; a search's round trip ` +
      `p50 ${result.searchMs.p50} ms); send to ack p50 ${result.ackMs.p50} p99 ${result.ackMs.p99} ms`,
  );
  return result;
}

/** The embedded server on the data directory the embedded part filled: rebuild at start, then freshness. */
async function embeddedFreshness(ctx: Ctx, size: Size, dir: string) {
  const t0 = wallMs();
  const server = await startGatewayServer(ctx, { IM_DATA_DIR: dir });
  try {
    const signer = localSigner(ctx.auth);
    const token = (user: string, device: string) => signer.sign(user, device, 3_600);
    // Searchable once the index is rebuilt from the data directory (UNAVAILABLE until then).
    const probe = new ImClient({ url: server.url, token: () => token(`${ctx.runId}probe`, 'd'), reconnect: false });
    await probe.connect();
    const startedMs = round(wallMs() - t0, 1);
    for (;;) {
      try {
        await probe.search({ text: 'ready', limit: 1 });
        break;
      } catch (err) {
        if (wallMs() - t0 > 600_000) throw err;
        await sleep(200);
      }
    }
    await probe.close();
    const searchableMs = round(wallMs() - t0, 1);
    ctx.log(
      `embedded server on that data directory: connected after ${startedMs} ms, searchable after ${searchableMs} ms`,
    );
    const cpuBefore = await server.child.call('cpuTimeMs', {});
    const result = await freshnessOver(ctx, size, 'embedded', [server.url], token);
    const serverCpuMs = (await server.child.call('cpuTimeMs', {})) - cpuBefore;
    return {
      rebuild: { connectedAfterStartMs: startedMs, searchableAfterStartMs: searchableMs },
      freshness: { ...result, serverCpuMsPerMessage: round(serverCpuMs / Math.max(1, result.sent), 2) },
    };
  } finally {
    await server.child.stop();
  }
}

/**
 * Cluster mode end to end: a cluster with its search process (an index prefix of this run's, dropped after), messages
 * sent over its gateways, each searched for from its ack until found: the bus, the search process's consumer and
 * Elasticsearch's refresh in between.
 */
async function measureClusterFreshness(ctx: Ctx, size: Size): Promise<FreshnessResult> {
  const prefix = `bench-${ctx.runId}`.toLowerCase();
  const cluster = await startBenchCluster(ctx, { IM_SEARCH_INDEX_PREFIX: prefix });
  try {
    return await freshnessOver(
      ctx,
      size,
      'cluster',
      cluster.gateways.map((g) => g.url),
      (user, device) => cluster.token(user, device),
    );
  } finally {
    await cluster.close();
    const es = new Client({ node: (await enginesUp(['elasticsearch'])).elasticsearch.node });
    await es.indices.delete({ index: `${messagesAlias({ prefix })}-*` }).catch(() => undefined);
    await es.indices.deleteIndexTemplate({ name: messagesAlias({ prefix }) }).catch(() => undefined);
    await es.close();
  }
}

// ---- the scenario ----

export async function search(ctx: Ctx) {
  startedAt = new Date().toISOString();
  profiles = {};
  const size = SIZES[ctx.size];
  const flags = ctx.flags as Flags & SearchFlags;
  const esO = {
    messages: flags.messages ?? size.esMessages,
    users: flags.users ?? size.esUsers,
    writers: flags.writers ?? size.writers,
    queries: flags.queries ?? size.queries,
  };
  // The embedded set has as many messages per user as the Elasticsearch one.
  const miniMessages = flags.embeddedMessages ?? size.miniMessages;
  const miniO = {
    messages: miniMessages,
    users: Math.max(2, Math.round((esO.users * miniMessages) / esO.messages)),
    writers: esO.writers,
    queries: esO.queries,
  };
  ctx.log(
    `search: Elasticsearch ${esO.messages} messages over ${esO.users} users, ${esO.writers} concurrent apply() ` +
      `callers; embedded ${miniO.messages} over ${miniO.users}; ${esO.queries} queries each; freshness ` +
      `${size.freshMessages} messages at ${size.freshRate}/s`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'im-bench-search-'));
  let cluster: Awaited<ReturnType<typeof elasticsearch>>;
  let local: Awaited<ReturnType<typeof embedded>>;
  let fresh: Awaited<ReturnType<typeof embeddedFreshness>>;
  let clusterFresh: FreshnessResult;
  try {
    cluster = await elasticsearch(ctx, size, esO);
    local = await embedded(ctx, size, dir, miniO);
    fresh = await embeddedFreshness(ctx, size, dir);
    clusterFresh = await measureClusterFreshness(ctx, size);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const targets = targetsOf(cluster, local, fresh.freshness, clusterFresh);
  const { samples: clusterFreshSamples, ...clusterFreshness } = clusterFresh;

  const { samples: freshSamples, ...freshness } = fresh.freshness;
  const { samples: esFreshSamples, ...applyToSearchableMs } = cluster.applyToSearchableMs;
  const curve = (values: number[]): [number, number][] => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.map((v, i) => [round(((i + 1) / sorted.length) * 100, 1), round(v, 1)]);
  };
  const charts: Chart[] = [
    {
      kind: 'bar',
      title: 'Indexing rate: through apply() vs the engine alone, same documents',
      yLabel: 'messages per second',
      groups: [
        {
          label: `Elasticsearch, ${esO.messages} messages`,
          bars: [
            { name: 'apply()', value: cluster.indexing.perSec },
            { name: 'engine alone (_bulk / addAll)', value: cluster.ceiling.perSec },
          ],
        },
        {
          label: `MiniSearch on disk, ${miniO.messages}`,
          bars: [
            { name: 'apply()', value: local.indexing.perSec },
            { name: 'engine alone (_bulk / addAll)', value: local.ceiling.perSec },
          ],
        },
      ],
      hLine: { y: TARGETS.esPerSec, label: `target (Elasticsearch) ${TARGETS.esPerSec}/s` },
    },
    {
      kind: 'line',
      title: 'Elasticsearch indexing over time',
      xLabel: 'seconds',
      yLabel: 'messages per second',
      series: [
        { name: `apply(), ${esO.writers} callers`, color: PALETTE[0], points: cluster.indexing.progress },
        { name: 'plain _bulk', color: PALETTE[1], dashed: true, points: cluster.ceiling.progress },
      ],
      hLine: { y: TARGETS.esPerSec, label: `target ${TARGETS.esPerSec}/s` },
    },
    {
      kind: 'line',
      title: "Query latency, a user's search over their own messages (log scale)",
      xLabel: 'percentile',
      yLabel: 'ms',
      logY: true,
      series: [
        { name: 'ES search()', color: PALETTE[0], points: cluster.queries.alone.curve },
        {
          name: `ES search(), ${IN_FLIGHT_QUERIES} in flight`,
          color: PALETTE[2],
          points: cluster.queries.inFlight.curve,
        },
        { name: 'ES raw match', color: PALETTE[0], dashed: true, points: cluster.queries.raw.curve },
        { name: 'MiniSearchIndex search()', color: PALETTE[1], points: local.queries.alone.curve },
        { name: 'MiniSearch raw', color: PALETTE[1], dashed: true, points: local.queries.raw.curve },
      ],
      hLine: { y: TARGETS.queryP99Ms, label: `target p99 ${TARGETS.queryP99Ms} ms` },
    },
    {
      kind: 'line',
      title: 'Freshness: ack (or apply) to searchable',
      xLabel: 'share of messages searchable (%)',
      yLabel: 'ms',
      series: [
        { name: 'embedded, over WebSockets', color: PALETTE[1], points: curve(freshSamples) },
        { name: 'ES adapter, apply()', color: PALETTE[0], dashed: true, points: curve(esFreshSamples) },
        { name: 'cluster, over WebSockets', color: PALETTE[2], points: curve(clusterFreshSamples) },
      ],
      hLine: { y: TARGETS.freshP99Ms, label: `target p99 ${TARGETS.freshP99Ms} ms` },
    },
  ];
  return writeResult(
    ctx.out,
    {
      scenario: 'search',
      title: 'Message search: indexing rate, query latency, freshness',
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: ['cluster (the Elasticsearch adapter in the bench process)', 'embedded, disk'],
      load: {
        elasticsearch: {
          messages: esO.messages,
          users: esO.users,
          applyCallers: esO.writers,
          opsPerApply: 1,
          engine: 'the local single node infra/ runs (512 MB heap), 1 shard, 0 replicas, refresh 1 s',
        },
        embedded: {
          messages: miniO.messages,
          users: miniO.users,
          applyCallers: miniO.writers,
          store: 'MiniSearchIndex on a data directory of its own on disk (durability normal)',
        },
        documents:
          '65% 1:1 messages (2 readers), 33% small groups of 3-20 (every member a reader), 1.5% large-group ' +
          'timeline entries, 0.5% notices (to everyone or a tag); 20% Chinese or Japanese; Latin words drawn ' +
          'Zipf(1.05) from 20,000; ids are ULIDs spread over 30 days (2 monthly indices)',
        queries:
          `${esO.queries} per measurement after ${WARMUP_QUERIES} unrecorded: a random user with messages, one or two ` +
          `words of one of their own messages (not among the ${60} most frequent), newest first, a page of ${PAGE}, ` +
          'scopes as readableScopes grants them (every group the user is in, notices to everyone, a tag for 10%)',
        freshness: {
          messages: size.freshMessages,
          ratePerSec: size.freshRate,
          pairs: size.freshPairs,
          pollEveryMs: freshness.pollEveryMs,
        },
      },
      figures: {
        elasticsearch: { ...cluster, applyToSearchableMs },
        embedded: { ...local, rebuild: fresh.rebuild, freshness },
        cluster: { freshness: clusterFreshness },
        profiles,
      },
      baselines: {
        bun: {
          available: false,
          reason:
            "a search index has no Bun counterpart; the baselines are the engines' own ceilings on the same " +
            'documents and queries, in the same run',
        },
        elasticsearchBulk: {
          description:
            `plain _bulk index requests of the same documents' JSON (prepared before the clock starts), ${BULK_DOCS} ` +
            `per request, ${BULK_IN_FLIGHT} in flight, into a scratch index of the same template`,
          perSec: cluster.ceiling.perSec,
        },
        elasticsearchRawQuery: {
          description: 'the same match query, sort and page without the permission filter (es.search)',
          latencyMs: cluster.queries.raw.latencyMs,
        },
        miniSearchAddAll: { description: 'MiniSearch addAll of the same documents', perSec: local.ceiling.perSec },
        miniSearchRawQuery: {
          description: "MiniSearch's own search over every document, no permission rule",
          latencyMs: local.queries.raw.latencyMs,
        },
      },
      targets,
      notes: [
        "This process runs the adapters (EsSearchIndex's batching, folding and JSON; MiniSearch itself) and makes " +
          'the documents as it goes (figures.elasticsearch.prepared: µs per message for making them, segmenting ' +
          'their words and JSON, measured while the baseline bodies were prepared); Elasticsearch and this process ' +
          'share the 2 cores, so every figure includes them competing.',
        'Cluster-mode freshness (ack over a gateway to searchable in Elasticsearch) is not measured here yet: ' +
          'bench/lib/search-freshness.ts measureFreshness({urls, token, ...}) ' +
          "takes a cluster's gateway URLs and a token maker; figures.elasticsearch.applyToSearchableMs is the adapter's " +
          'part of it (apply resolved to found, the 1 s refresh interval).',
        'The embedded server starts on the data directory the embedded indexing filled, so its index holds those ' +
          'messages when freshness is measured (rebuilt at start: figures.embedded.rebuild).',
      ],
    },
    charts,
    [
      `Elasticsearch: ${esO.messages} messages over ${esO.users} users, ${esO.writers} apply() callers; embedded ` +
        `${miniO.messages} over ${miniO.users}; ${esO.queries} queries each`,
    ],
  );
}

function byDocs(q: QueryRun): string {
  return Object.entries(q.byUserDocs)
    .filter(([, p]) => p.count > 0)
    .map(([name, p]) => `${name} ${p.p99} ms (${p.count} queries)`)
    .join(', ');
}

function targetsOf(
  cluster: Awaited<ReturnType<typeof elasticsearch>>,
  local: Awaited<ReturnType<typeof embedded>>,
  freshness: FreshnessResult,
  clusterFreshness: FreshnessResult,
): Target[] {
  const ix = cluster.indexing;
  const ce = cluster.ceiling;
  const p = profiles['ES indexing'];
  const engineBound =
    ce.perSec < TARGETS.esPerSec
      ? `Elasticsearch alone did not reach the target either: the same documents as plain _bulk requests went in ` +
        `at ${ce.perSec}/s (${ce.esCores} cores of Elasticsearch, ${ce.esCpuUsPerMsg} µs/msg), so the engine on ` +
        `this machine is the first limit; `
      : `Elasticsearch alone took the same documents at ${ce.perSec}/s (${ce.esCores} cores of it, ` +
        `${ce.esCpuUsPerMsg} µs/msg); `;
  const indexing = checkTarget(
    `Elasticsearch: messages indexed per second through apply() (${ix.messages} messages)`,
    ix.perSec,
    '>=',
    TARGETS.esPerSec,
    'messages/s',
    engineBound +
      `through apply() ${Math.round((ix.perSec / Math.max(1, ce.perSec)) * 100)}% of that, Elasticsearch using ` +
      `${ix.esCores} cores (${ix.esCpuUsPerMsg} µs/msg) and this process ${ix.benchCores} cores ` +
      `(${ix.benchCpuUsPerMsg} µs/msg, of which making the documents ~${cluster.prepared.genUsPerMsg} µs and ` +
      `segmenting their words ~${cluster.prepared.tokenizeUsPerMsg} µs) on the same 2 cores, other processes ` +
      `${ix.otherCores} cores (load average ${ix.loadAverage}); Elasticsearch refused ${ix.refusedForLoad} bulk ` +
      `requests for load (its 512 MB heap's circuit breaker or write queue), the baseline ${ce.refusedForLoad}` +
      (p
        ? `; this process's top self-time functions (profiled re-run, figures.profiles): ` +
          `${profileLines(p, 5).join('; ')}; native time by caller: ${nativeLines(p, 3).join('; ')}`
        : ''),
  );
  const esQuery = checkTarget(
    "Elasticsearch: a user's search over their own messages, p99 (one at a time)",
    cluster.queries.alone.latencyMs.p99,
    '<=',
    TARGETS.queryP99Ms,
    'ms',
    `the same match without the permission filter: p99 ${cluster.queries.raw.latencyMs.p99} ms; ` +
      `${IN_FLIGHT_QUERIES} in flight: p99 ${cluster.queries.inFlight.latencyMs.p99} ms; p99 by the user's ` +
      `documents: ${byDocs(cluster.queries.alone)}`,
  );
  const miniQuery = checkTarget(
    "Embedded: a user's search over their own messages, p99",
    local.queries.alone.latencyMs.p99,
    '<=',
    TARGETS.queryP99Ms,
    'ms',
    `MiniSearch's own search over everyone's documents: p99 ${local.queries.raw.latencyMs.p99} ms; p99 by the ` +
      `user's documents: ${byDocs(local.queries.alone)}: a user who may read up to 2,000 documents has each of them ` +
      'segmented again and checked for the words (search-index.minisearch.ts), past that MiniSearch scores ' +
      "everyone's matches and the permission rule filters them",
  );
  const fresh = checkTarget(
    'Embedded: send acknowledged to searchable, p99 (over WebSockets)',
    freshness.ackToSearchableMs.p99,
    '<=',
    TARGETS.freshP99Ms,
    'ms',
  );
  if (freshness.notFound > 0 || freshness.sent === 0) {
    fresh.met = false;
    fresh.by = `${fresh.by ?? ''} ${freshness.notFound} of ${freshness.sent} not found within 10 s`.trim();
  }
  const clusterFresh = checkTarget(
    'Cluster: send acknowledged to searchable, p99 (over WebSockets, through search_input and the search process)',
    clusterFreshness.ackToSearchableMs.p99,
    '<=',
    TARGETS.freshP99Ms,
    'ms',
    `Elasticsearch refreshes every 1 s (the adapter's apply to searchable p99 ${cluster.applyToSearchableMs.p99} ms); ` +
      `before that, logic's publish and the search process's consumer`,
  );
  if (clusterFreshness.notFound > 0 || clusterFreshness.sent === 0) {
    clusterFresh.met = false;
    clusterFresh.by =
      `${clusterFresh.by ?? ''} ${clusterFreshness.notFound} of ${clusterFreshness.sent} not found within 10 s`.trim();
  }
  return [indexing, esQuery, miniQuery, fresh, clusterFresh];
}
