// Where a process spent its CPU: the top self-time functions (and files) of a V8 CPU profile, as taken in-process
// by a bench child (node:inspector, bench/servers/gateway.ts `profileStop`) or written by --cpu-prof
// (IM_CPU_PROF_DIR). Self time is the samples whose top frame was the function, times the sampling interval.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** The parts of a V8 CPU profile (the .cpuprofile JSON, or Profiler.stop's `profile`) read here. */
export interface V8Profile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileSummary {
  /** Wall time the profile covers, in ms. */
  wallMs: number;
  /** Sampled time with JS or native work on the main thread (everything but "(idle)"), in ms. */
  busyMs: number;
  /** Garbage collection's share of the busy time (the "(garbage collector)" node). */
  gcShare: number;
  /** Functions by self time, the heaviest first: name, where (the repo-relative file, or a package). */
  top: { fn: string; where: string; selfMs: number; share: number }[];
  /** Self time by file (or package under node_modules), the heaviest first. */
  topFiles: { file: string; selfMs: number; share: number }[];
  /**
   * Native self time (a SQLite statement's get/run/exec, a socket write, ...) by the function of our own code that
   * called it (callerOf): what the native time was spent for.
   */
  nativeByCaller: { native: string; caller: string; selfMs: number; share: number }[];
  /** The repository's own functions (not node_modules, not node:) by inclusive time: self and everything called. */
  inclusive: { fn: string; where: string; totalMs: number; share: number }[];
}

const ROOT = new URL('../..', import.meta.url).href;

/** Where a frame comes from, short: `logic/notices/firing.ts`, `node_modules/ws`, `node:internal/...`. */
function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const local = url.startsWith(ROOT) ? url.slice(ROOT.length) : url;
  const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(local);
  if (pkg) return `node_modules/${pkg[1]}`;
  return local.replace(/^file:\/\//, '');
}

/** The top `top` self-time functions and files of `profile`. */
export function summarizeProfile(profile: V8Profile, top = 15): ProfileSummary {
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const hits = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  }
  const totalHits = [...hits.values()].reduce((a, b) => a + b, 0);
  const msPerHit = totalHits > 0 ? wallMs / totalHits : 0;
  const byFn = new Map<string, { fn: string; where: string; hits: number }>();
  const byFile = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  for (const node of profile.nodes) {
    const h = hits.get(node.id) ?? 0;
    if (h === 0) continue;
    const { functionName, url } = node.callFrame;
    if (functionName === '(idle)') {
      idle += h;
      continue;
    }
    if (functionName === '(garbage collector)') gc += h;
    const file = shortUrl(url);
    const fn = functionName || '(anonymous)';
    const key = `${fn} ${file}`;
    const entry = byFn.get(key) ?? { fn, where: file, hits: 0 };
    entry.hits += h;
    byFn.set(key, entry);
    byFile.set(file, (byFile.get(file) ?? 0) + h);
  }
  // Native frames by their nearest JavaScript caller; the repository's functions by inclusive time.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
  // Lines are left out: tsx runs the transpiled code, whose lines are not the source's.
  const frameKey = (n: V8Profile['nodes'][number]) => {
    const { functionName, url } = n.callFrame;
    return { fn: functionName || '(anonymous)', where: shortUrl(url) };
  };
  const own = (id: number) => {
    const { url } = nodeById.get(id)!.callFrame;
    return url !== '' && !url.includes('/node_modules/');
  };
  /**
   * What a native call served: the nearest frame of code of our own (not a package's); if that is an anonymous
   * closure, the nearest named function of the same file above it (a statement's closure inside `arrived`, run by
   * the group commit's `stage`, is `arrived`'s).
   */
  const callerOf = (id: number): number | undefined => {
    let up = parent.get(id);
    while (up !== undefined && !own(up)) up = parent.get(up);
    if (up === undefined || nodeById.get(up)!.callFrame.functionName !== '') return up;
    const url = nodeById.get(up)!.callFrame.url;
    for (let at = parent.get(up); at !== undefined; at = parent.get(at)) {
      const f = nodeById.get(at)!.callFrame;
      if (f.url === url && f.functionName !== '') return at;
    }
    return up;
  };
  const byNative = new Map<string, { native: string; caller: string; hits: number }>();
  const byInclusive = new Map<string, { fn: string; where: string; hits: number }>();
  for (const node of profile.nodes) {
    const h = hits.get(node.id) ?? 0;
    const { functionName, url } = node.callFrame;
    if (h === 0 || functionName === '(idle)') continue;
    if (url === '' && !functionName.startsWith('(')) {
      const up = callerOf(node.id);
      const caller = up === undefined ? '(none)' : Object.values(frameKey(nodeById.get(up)!)).join(' ');
      const key = `${functionName} ${caller}`;
      const entry = byNative.get(key) ?? { native: functionName, caller, hits: 0 };
      entry.hits += h;
      byNative.set(key, entry);
    }
    const seen = new Set<string>();
    for (let at: number | undefined = node.id; at !== undefined; at = parent.get(at)) {
      const frame = nodeById.get(at)!;
      const u = frame.callFrame.url;
      if (!u.startsWith(ROOT) || u.includes('/node_modules/')) continue;
      const k = frameKey(frame);
      const key = `${k.fn} ${k.where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = byInclusive.get(key) ?? { ...k, hits: 0 };
      entry.hits += h;
      byInclusive.set(key, entry);
    }
  }
  const busyHits = totalHits - idle;
  const share = (h: number) => (busyHits > 0 ? Math.round((h / busyHits) * 1000) / 1000 : 0);
  const ms = (h: number) => Math.round(h * msPerHit * 10) / 10;
  return {
    wallMs: Math.round(wallMs),
    busyMs: ms(busyHits),
    gcShare: share(gc),
    top: [...byFn.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, top)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: ms(e.hits), share: share(e.hits) })),
    topFiles: [...byFile.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([file, h]) => ({ file, selfMs: ms(h), share: share(h) })),
    nativeByCaller: [...byNative.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, top)
      .map((e) => ({ native: e.native, caller: e.caller, selfMs: ms(e.hits), share: share(e.hits) })),
    inclusive: [...byInclusive.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, top)
      .map((e) => ({ fn: e.fn, where: e.where, totalMs: ms(e.hits), share: share(e.hits) })),
  };
}

/** A .cpuprofile file (as --cpu-prof writes it under IM_CPU_PROF_DIR), summarized. */
export function summarizeProfileFile(path: string, top = 15): ProfileSummary {
  return summarizeProfile(JSON.parse(readFileSync(path, 'utf8')) as V8Profile, top);
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

/** One line per function, by self time: "42.1% 812 ms sendNotice logic/notices/notices.ts". */
export function profileLines(s: ProfileSummary, n = 8): string[] {
  return s.top.slice(0, n).map((t) => `${pct(t.share)} ${t.selfMs} ms ${t.fn} ${t.where}`);
}

/** One line per native function by its caller: "30.2% 812 ms get <- arrived offline/unread-store.sqlite.ts". */
export function nativeLines(s: ProfileSummary, n = 5): string[] {
  return s.nativeByCaller.slice(0, n).map((t) => `${pct(t.share)} ${t.selfMs} ms ${t.native} <- ${t.caller}`);
}

/** One line per function of the repository, by inclusive time. */
export function inclusiveLines(s: ProfileSummary, n = 8): string[] {
  return s.inclusive.slice(0, n).map((t) => `${pct(t.share)} ${t.totalMs} ms ${t.fn} ${t.where}`);
}

/**
 * This process's CPU profiler, for a server driven over IPC: `start` samples every `intervalUs`; `stop` answers the
 * top `top` self-time functions and files, and writes the whole profile to `saveTo` when given (a .cpuprofile: open
 * it in Chrome DevTools or VS Code).
 */
export function selfProfiler() {
  let session: Session | undefined;
  return {
    async start(p: { intervalUs: number }) {
      if (session) throw new Error('a profile is already running');
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: p.intervalUs });
      await session.post('Profiler.start');
      return {};
    },
    async stop(p: { top: number; saveTo?: string }) {
      const running = session;
      if (!running) throw new Error('no profile is running');
      session = undefined;
      const { profile } = await running.post('Profiler.stop');
      running.disconnect();
      if (p.saveTo) writeFileSync(p.saveTo, JSON.stringify(profile));
      return summarizeProfile(profile, p.top);
    },
  };
}
