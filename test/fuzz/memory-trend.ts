/** One sample of the server's memory, `atMs` from the start of the run. */
export interface MemoryPoint {
  atMs: number;
  heapUsed: number;
  rss: number;
}

export interface MemoryTrend {
  /** Samples before this are warm-up (caches filling, code compiled) and left out of the fit. */
  warmUpMs: number;
  /** Least-squares slopes after warm-up, in MiB per minute. */
  heapSlopeMiBPerMin: number;
  rssSlopeMiBPerMin: number;
  /** What the heap fit says grew from the end of warm-up to the end of the run, in MiB. */
  heapGrowthMiB: number;
  /** The heap growth past which the run fails. */
  boundMiB: number;
  flat: boolean;
}

const MiB = 1024 * 1024;

/**
 * The fitted heap growth after warm-up may be at most this: a leak of a few hundred bytes per frame shows as tens of
 * MiB over a run of thousands of frames, while heap sampled after a full GC moves by a few MiB at most.
 */
export const HEAP_GROWTH_BOUND_MIB = 32;

function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/** The trend of samples taken over a run of `durationMs`: flat unless the heap's fitted growth passes the bound. */
export function memoryTrend(points: readonly MemoryPoint[], durationMs: number): MemoryTrend {
  const warmUpMs = Math.max(5_000, durationMs / 4);
  const after = points.filter((p) => p.atMs >= warmUpMs);
  const perMin = (key: 'heapUsed' | 'rss') => (slope(after.map((p) => [p.atMs, p[key]])) * 60_000) / MiB;
  const heapSlopeMiBPerMin = perMin('heapUsed');
  const span = after.length > 1 ? after.at(-1)!.atMs - after[0]!.atMs : 0;
  const heapGrowthMiB = (heapSlopeMiBPerMin * span) / 60_000;
  return {
    warmUpMs,
    heapSlopeMiBPerMin,
    rssSlopeMiBPerMin: perMin('rss'),
    heapGrowthMiB,
    boundMiB: HEAP_GROWTH_BOUND_MIB,
    flat: heapGrowthMiB <= HEAP_GROWTH_BOUND_MIB,
  };
}
