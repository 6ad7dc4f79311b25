// Documents shaped like real messages for the search benchmark, made on demand and the same every time for the
// same seed: 1:1 messages (two readers), small-group messages (every member a reader), a few large-group timeline
// entries and notices of the system timeline, a share of Chinese and Japanese text, words drawn from a Zipf
// distribution over a 20,000-word vocabulary. Nothing is held per message: message i's conversation and text come
// from a generator seeded by i, and only inbox seqs (a counter per user) need the messages in order, so `docs()`
// walks them from the first each time and two walks give the same documents.
import { dmConversation, groupConversation, SYSTEM_CONVERSATION } from '../../lib/conversation.ts';
import type { ReadableScopes, SearchDoc } from '../../search/index.ts';

/** A small fast PRNG (mulberry32): uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The most frequent English words of chat, in rough order; the rest of the vocabulary is made of syllables.
const COMMON = (
  'i you the to a and it is that in me my of for ok on be have this so we what are no just do not can with ' +
  'yes but at was your all will get know it’s like if up out now how there good go one about think see lol ' +
  'time then they he want when here too well got can’t thanks back come today really she going need from ' +
  'tomorrow day work sure love right did still make yeah why also call let some much more home soon tonight ' +
  'meeting please night thank would who take maybe something off over morning great way been later week ' +
  'had them had him her say his could us our only tell new people nice long thing look first last next ' +
  'before after where which any again happy fine free lunch dinner coffee office team project report email ' +
  'phone message send sent file photo picture video link price order shipped delivery payment invoice ' +
  'customer account password login update release deploy bug fix test build server client issue ticket ' +
  'review merge branch weekend friday monday saturday sunday tuesday wednesday thursday birthday party ' +
  'flight train hotel trip airport ticket movie game match score music song book school class exam ' +
  'doctor hospital weather rain sunny cold hot city street car bus station minute hour late early ' +
  'problem question answer idea plan budget schedule deadline contract client sales marketing design'
).split(' ');

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'st'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ea'];
const CODAS = ['', '', '', 'n', 'r', 's', 'l', 't', 'm', 'nd', 'ck'];

/** Chinese and Japanese words, written without spaces in a message (ICU's dictionary splits them again). */
const ZH = (
  '今天 明天 昨天 我们 你们 他们 时间 工作 会议 项目 问题 天气 很好 朋友 公司 电话 消息 文件 图片 视频 ' +
  '价格 订单 发货 付款 客户 账号 密码 更新 发布 测试 服务器 周末 生日 飞机 火车 酒店 旅行 机场 电影 ' +
  '音乐 学校 考试 医生 医院 下雨 晴天 城市 地铁 分钟 小时 计划 预算 合同 市场 设计 晚饭 午饭 咖啡 ' +
  '北京 上海 广州 深圳 东京 知道 觉得 需要 可以 已经 现在 马上 一起 谢谢 没有 还是 因为 所以 但是'
).split(' ');
const JA = (
  '今日 明日 会議 東京 大阪 天気 晴れ 雨 仕事 電話 メール 写真 資料 確認 お願い します ありがとう ' +
  'ございます 予定 時間 場所 駅 電車 ホテル 旅行 映画 音楽 学校 先生 友達 会社 プロジェクト 問題 ' +
  '週末 誕生日 ランチ コーヒー です ます ました でした 行きます 見ます 送ります'
).split(' ');
const ZH_PUNCT = ['，', '。', '！', '？', ''];
const JA_PARTICLES = ['は', 'が', 'を', 'に', 'で', 'と', 'の', ''];
const EMOJI = ['👍', '😂', '🙏', '🎉', '❤️', '😅'];

export interface CorpusOptions {
  messages: number;
  users: number;
  /** Ids of users, groups and apps start with this (each run its own). */
  prefix: string;
  seed?: number;
  /** Share of messages in Chinese or Japanese (default 0.2). */
  cjkShare?: number;
  /** When the first message was sent; they are spread evenly over `spanMs` from there (default: 30 days ago). */
  startMs?: number;
  spanMs?: number;
}

/** What kind of document message i is, by share of all messages. */
const SHARES = { dm: 0.65, group: 0.33, largeGroup: 0.015 }; // the rest: notices of the system timeline

const VOCABULARY = 20_000;
const ZIPF_S = 1.05;
/** Words of the vocabulary this frequent are not what a user types into a search box. */
export const STOP_RANK = 60;
/** Message indices kept per user (a reservoir of the messages in their inbox), for queries that hit. */
const SAMPLES_PER_USER = 8;
const TAG = 'vip';
const APP = 'app_bench';

/** Cumulative weights for drawing an index in [0, n) with probability ∝ 1 / (rank + 1)^s. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  for (let r = 0; r < n; r++) cdf[r]! /= sum;
  return cdf;
}

function draw(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID for a time, its random part from `r` (what the server's ids look like; it names the ES month). */
function ulidAt(ms: number, r: () => number): string {
  let time = '';
  for (let i = 0, t = ms; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32]! + time;
  let rest = '';
  for (let i = 0; i < 16; i++) rest += CROCKFORD[Math.floor(r() * 32)]!;
  return time + rest;
}

/** A corpus's shape, for the result. */
export interface CorpusStats {
  messages: number;
  users: number;
  dmPairs: number;
  smallGroups: number;
  largeGroups: number;
  largeGroupMembers: number;
  /** Share of the documents by kind, and of CJK text, over the messages made so far. */
  shares: Record<string, number>;
  /** Documents per user whose inbox holds them (their own readers' entries), over the messages made so far. */
  docsPerUser: { p50: number; p99: number; max: number; mean: number };
  charsPerMessage: number;
}

export class Corpus {
  readonly messages: number;
  readonly users: number;
  readonly prefix: string;
  private readonly seed: number;
  private readonly cjkShare: number;
  private readonly startMs: number;
  private readonly stepMs: number;
  private readonly words: string[];
  private readonly rank = new Map<string, number>();
  private readonly wordCdf: Float64Array;
  /** dm pairs (a, b) flat; small groups' members flat with offsets; large groups' members. */
  private readonly pairs: Int32Array;
  private readonly pairCdf: Float64Array;
  private readonly groupStart: Int32Array;
  private readonly groupMembers: Int32Array;
  private readonly groupCdf: Float64Array;
  private readonly largeMembers: Int32Array[];
  /** user → small and large groups they are in, as conversations. */
  private readonly groupsOf: string[][];
  private readonly tagged: Uint8Array;
  // Filled as docs() walks: per user, their inbox's documents so far and a reservoir sample of them.
  private readonly docCount: Int32Array;
  private readonly samples: Int32Array;
  private readonly kinds: Record<string, number> = { dm: 0, group: 0, largeGroup: 0, notice: 0, cjk: 0 };
  private charsMade = 0;
  private made = 0;

  constructor(o: CorpusOptions) {
    this.messages = o.messages;
    this.users = o.users;
    this.prefix = o.prefix;
    this.seed = o.seed ?? 23;
    this.cjkShare = o.cjkShare ?? 0.2;
    const span = o.spanMs ?? 30 * 86_400_000;
    this.startMs = o.startMs ?? Date.now() - span;
    this.stepMs = span / Math.max(1, o.messages);
    const r = rng(this.seed);
    const made = new Set(COMMON);
    this.words = [...COMMON];
    while (this.words.length < VOCABULARY) {
      let w = '';
      const syllables = 1 + Math.floor(r() * 3) + (r() < 0.3 ? 1 : 0);
      for (let i = 0; i < syllables; i++) {
        w += ONSETS[Math.floor(r() * ONSETS.length)]! + VOWELS[Math.floor(r() * VOWELS.length)]!;
      }
      w += CODAS[Math.floor(r() * CODAS.length)]!;
      if (made.has(w)) continue;
      made.add(w);
      this.words.push(w);
    }
    this.words.forEach((w, i) => this.rank.set(w, i));
    this.wordCdf = zipfCdf(this.words.length, ZIPF_S);

    const U = o.users;
    // 1:1 contacts: each user starts 1-6 conversations with others; some pairs talk far more than others.
    const pairs: number[] = [];
    for (let u = 0; u < U && U > 1; u++) {
      const n = 1 + Math.floor(r() ** 2 * 6);
      for (let k = 0; k < n; k++) {
        let v = Math.floor(r() * U);
        if (v === u) v = (v + 1) % U;
        pairs.push(u, v);
      }
    }
    this.pairs = Int32Array.from(pairs);
    this.pairCdf = zipfCdf(this.pairs.length / 2, 0.6);
    // Small groups of 3-20 (most of them small): about one for every 4 users.
    const groups = Math.max(1, Math.floor(U / 4));
    const starts: number[] = [];
    const members: number[] = [];
    this.groupsOf = Array.from({ length: U }, () => []);
    for (let g = 0; g < groups; g++) {
      starts.push(members.length);
      const size = Math.min(U, 3 + Math.floor(r() ** 2.5 * 18));
      const chosen = new Set<number>();
      while (chosen.size < size) chosen.add(Math.floor(r() * U));
      for (const m of chosen) {
        members.push(m);
        this.groupsOf[m]!.push(groupConversation(this.groupId(g)));
      }
    }
    starts.push(members.length);
    this.groupStart = Int32Array.from(starts);
    this.groupMembers = Int32Array.from(members);
    this.groupCdf = zipfCdf(groups, 0.7);
    // Large groups (timeline entries, read through the scopes): one per 2,000 users, up to 500 members each.
    const large = Math.max(1, Math.floor(U / 2_000));
    this.largeMembers = [];
    for (let g = 0; g < large; g++) {
      const size = Math.min(U, 500, Math.max(2, Math.floor(U / 2)));
      const chosen = new Set<number>();
      while (chosen.size < size) chosen.add(Math.floor(r() * U));
      this.largeMembers.push(Int32Array.from(chosen));
      for (const m of chosen) this.groupsOf[m]!.push(groupConversation(this.largeId(g)));
    }
    this.tagged = new Uint8Array(U);
    for (let u = 0; u < U; u++) this.tagged[u] = r() < 0.1 ? 1 : 0;
    this.docCount = new Int32Array(U);
    this.samples = new Int32Array(U * SAMPLES_PER_USER).fill(-1);
  }

  user(u: number): string {
    return `${this.prefix}u${u}`;
  }

  private groupId(g: number): string {
    return `${this.prefix}g${g}`;
  }

  private largeId(g: number): string {
    return `${this.prefix}l${g}`;
  }

  /** A message's text, from its own generator (the same for message i however it is reached). */
  text(i: number): string {
    const r = rng(this.seed * 7919 + i * 2654435761);
    r(); // the kind and conversation draws are separate
    if (r() < this.cjkShare) return r() < 0.7 ? this.chinese(r) : this.japanese(r);
    return this.latin(r);
  }

  /** Whether message i's text is CJK (the same draw as text()). */
  private isCjk(i: number): boolean {
    const r = rng(this.seed * 7919 + i * 2654435761);
    r();
    return r() < this.cjkShare;
  }

  private latin(r: () => number): string {
    // Lengths: lognormal around 8 words, 1 to 60.
    const gauss = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const n = Math.max(1, Math.min(60, Math.round(Math.exp(Math.log(8) + 0.7 * gauss))));
    const parts: string[] = [];
    for (let k = 0; k < n; k++) {
      let w = this.words[draw(this.wordCdf, r())]!;
      if (k === 0 && r() < 0.6) w = w[0]!.toUpperCase() + w.slice(1);
      const p = r();
      if (p < 0.03) w = String(Math.floor(r() * 1000));
      else if (p < 0.08) w += ',';
      else if (p < 0.1) w += '?';
      parts.push(w);
    }
    if (r() < 0.05) parts.push(EMOJI[Math.floor(r() * EMOJI.length)]!);
    if (r() < 0.01) parts.push(`https://example.com/${this.words[draw(this.wordCdf, r())]}`);
    return parts.join(' ') + (r() < 0.4 ? '.' : '');
  }

  private chinese(r: () => number): string {
    const n = 2 + Math.floor(r() * 10);
    let s = '';
    for (let k = 0; k < n; k++) {
      s += ZH[Math.floor(r() ** 1.5 * ZH.length)]!;
      if (r() < 0.2) s += ZH_PUNCT[Math.floor(r() * ZH_PUNCT.length)]!;
    }
    // Mixed text happens: a Latin word now and then.
    if (r() < 0.15) s += ` ${this.words[draw(this.wordCdf, r())]}`;
    return s;
  }

  private japanese(r: () => number): string {
    const n = 2 + Math.floor(r() * 8);
    let s = '';
    for (let k = 0; k < n; k++) {
      s += JA[Math.floor(r() ** 1.5 * JA.length)]! + JA_PARTICLES[Math.floor(r() * JA_PARTICLES.length)]!;
    }
    return s + (r() < 0.5 ? '。' : '');
  }

  /**
   * The documents in order (message 0 first), each an upsert as offline's inbox write hands it to the index: its
   * readers with their own inbox seqs, or a timeline entry. Seqs and the per-user samples start again at each walk.
   */
  *docs(count = this.messages): Generator<SearchDoc> {
    const seq = new Int32Array(this.users);
    const streamSeq = new Map<string, number>();
    this.docCount.fill(0);
    this.samples.fill(-1);
    for (const k of Object.keys(this.kinds)) this.kinds[k] = 0;
    this.charsMade = 0;
    this.made = 0;
    const pick = rng(this.seed * 31 + 1);
    for (let i = 0; i < Math.min(count, this.messages); i++) {
      const r = rng(this.seed * 7919 + i * 2654435761);
      const kindDraw = r();
      const sentAtMs = Math.floor(this.startMs + i * this.stepMs);
      const id = ulidAt(sentAtMs, rng(this.seed * 104729 + i));
      const text = this.text(i);
      const c = rng(this.seed * 15485863 + i);
      let doc: SearchDoc;
      const readersOf = (users: Iterable<number>) =>
        [...users].map((u) => {
          this.note(u, i, pick);
          return { user: this.user(u), seq: ++seq[u]! };
        });
      if (kindDraw < SHARES.dm && this.pairs.length > 0) {
        const p = draw(this.pairCdf, c());
        const [a, b] = [this.pairs[2 * p]!, this.pairs[2 * p + 1]!];
        const from = c() < 0.5 ? a : b;
        doc = {
          id,
          conversation: dmConversation(this.user(a), this.user(b)),
          kind: 'dm',
          fromUser: this.user(from),
          sentAtMs,
          text,
          readers: readersOf([a, b]),
        };
        this.kinds.dm!++;
      } else if (kindDraw < SHARES.dm + SHARES.group) {
        const g = draw(this.groupCdf, c());
        const members = this.groupMembers.subarray(this.groupStart[g], this.groupStart[g + 1]);
        doc = {
          id,
          conversation: groupConversation(this.groupId(g)),
          kind: 'group',
          fromUser: this.user(members[Math.floor(c() * members.length)]!),
          sentAtMs,
          text,
          readers: readersOf(members),
        };
        this.kinds.group!++;
      } else if (kindDraw < SHARES.dm + SHARES.group + SHARES.largeGroup) {
        const g = Math.floor(c() * this.largeMembers.length);
        const members = this.largeMembers[g]!;
        const conversation = groupConversation(this.largeId(g));
        const at = (streamSeq.get(conversation) ?? 0) + 1;
        streamSeq.set(conversation, at);
        doc = {
          id,
          conversation,
          kind: 'group',
          fromUser: this.user(members[Math.floor(c() * members.length)]!),
          sentAtMs,
          text,
          readers: [],
          timeline: { stream: conversation, seq: at },
        };
        this.kinds.largeGroup!++;
      } else {
        const at = (streamSeq.get('system') ?? 0) + 1;
        streamSeq.set('system', at);
        doc = {
          id,
          conversation: SYSTEM_CONVERSATION,
          kind: 'notice',
          fromUser: APP,
          sentAtMs,
          text,
          readers: [],
          timeline: { stream: 'system', seq: at },
          notice: { appId: APP, audience: c() < 0.5 ? 'all' : `tag:${TAG}`, expireAtMs: 0 },
        };
        this.kinds.notice!++;
      }
      if (this.isCjk(i)) this.kinds.cjk!++;
      this.charsMade += text.length;
      this.made++;
      yield doc;
    }
  }

  /** Counts the document for user u and keeps it in their reservoir sample. */
  private note(u: number, i: number, pick: () => number): void {
    const n = ++this.docCount[u]!;
    if (n <= SAMPLES_PER_USER) this.samples[u * SAMPLES_PER_USER + n - 1] = i;
    else {
      const j = Math.floor(pick() * n);
      if (j < SAMPLES_PER_USER) this.samples[u * SAMPLES_PER_USER + j] = i;
    }
  }

  /** How many documents user u's inbox holds (of the messages walked so far). */
  docsOf(u: number): number {
    return this.docCount[u] ?? 0;
  }

  /** What the search service would grant user u (readableScopes: every group they are in, notices, their tag). */
  scopes(u: number): ReadableScopes {
    return {
      timelines: this.groupsOf[u]!.map((conversation) => ({ conversation, spans: [{}] })),
      noticesToAll: true,
      noticeTags: this.tagged[u] ? [{ appId: APP, tag: TAG, sinceMs: 0 }] : [],
    };
  }

  /**
   * A query that hits: a random user whose inbox has messages (of those walked so far), one or two words a person
   * would type taken from one of their messages (not among the vocabulary's most frequent words when there is
   * another), and that message's index.
   */
  query(r: () => number, tokenize: (text: string) => string[]): { user: number; text: string; message: number } {
    for (let tries = 0; ; tries++) {
      const u = Math.floor(r() * this.users);
      if (this.docCount[u] === 0 && tries < 10_000) continue;
      const kept = Math.min(SAMPLES_PER_USER, this.docCount[u]!);
      if (kept === 0) throw new Error('no user has a message yet');
      const message = this.samples[u * SAMPLES_PER_USER + Math.floor(r() * kept)]!;
      const words = [...new Set(tokenize(this.text(message)))];
      const rare = words.filter((w) => (this.rank.get(w) ?? Infinity) >= STOP_RANK && !/^\d+$/.test(w));
      const from = rare.length > 0 ? rare : words;
      if (from.length === 0) continue;
      const first = from[Math.floor(r() * from.length)]!;
      const second = from.length > 1 && r() < 0.25 ? from.find((w) => w !== first) : undefined;
      return { user: u, text: second ? `${first} ${second}` : first, message };
    }
  }

  stats(): CorpusStats {
    const counts = [...this.docCount].sort((a, b) => a - b);
    const at = (q: number) => counts[Math.min(counts.length - 1, Math.floor(q * counts.length))] ?? 0;
    const share = (n: number) => Math.round((n / Math.max(1, this.made)) * 1000) / 1000;
    const largeGroupMembers = this.largeMembers.reduce((a, m) => a + m.length, 0);
    return {
      messages: this.made,
      users: this.users,
      dmPairs: this.pairs.length / 2,
      smallGroups: this.groupStart.length - 1,
      largeGroups: this.largeMembers.length,
      largeGroupMembers,
      shares: Object.fromEntries(Object.entries(this.kinds).map(([k, v]) => [k, share(v)])),
      docsPerUser: {
        p50: at(0.5),
        p99: at(0.99),
        max: counts.at(-1) ?? 0,
        mean: Math.round((counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length)) * 10) / 10,
      },
      charsPerMessage: Math.round((this.charsMade / Math.max(1, this.made)) * 10) / 10,
    };
  }
}
