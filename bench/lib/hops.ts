// The per-hop breakdown: every process serves Prometheus text at GET /metrics with `im_hop_seconds` (lib/metrics.ts);
// the sums and counts read before and after a load step give the mean time per hop during that step.

export type HopTotals = Map<string, { sum: number; count: number }>;

const LINE = /^im_hop_seconds_(sum|count)\{hop="([^"]+)"\} ([0-9.eE+-]+)$/;

/** Sums and counts per hop, added up over the processes behind `urls`. */
export async function scrapeHops(urls: readonly string[]): Promise<HopTotals> {
  const totals: HopTotals = new Map();
  const texts = await Promise.all(
    urls.map(async (url) => (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text()),
  );
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      const t = totals.get(m[2]!) ?? { sum: 0, count: 0 };
      t[m[1] as 'sum' | 'count'] += Number(m[3]);
      totals.set(m[2]!, t);
    }
  }
  return totals;
}

/** Mean milliseconds per hop between two scrapes (hops with nothing new are left out). */
export function hopMeans(before: HopTotals, after: HopTotals): Record<string, { count: number; meanMs: number }> {
  const out: Record<string, { count: number; meanMs: number }> = {};
  for (const [hop, a] of [...after].sort(([x], [y]) => x.localeCompare(y))) {
    const b = before.get(hop) ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count > 0) out[hop] = { count, meanMs: Math.round(((a.sum - b.sum) / count) * 1e6) / 1e3 };
  }
  return out;
}
