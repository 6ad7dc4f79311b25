/**
 * A small log-linear histogram of durations in milliseconds: fixed memory whatever the count, about 1% relative
 * precision, exact count/min/max, mergeable across processes (sparse bucket counts cross IPC). Values below 1 µs
 * land in the first bucket.
 */
const SUB_BUCKETS = 64; // per power of two: ~1.1% precision
const MIN_MS = 0.001;
const OCTAVES = 40; // up to 0.001 ms * 2^40 ≈ 35 years

export interface HistogramData {
  counts: Record<number, number>;
  count: number;
  min: number;
  max: number;
  sum: number;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
  mean: number;
}

export class Histogram {
  private readonly counts = new Float64Array(SUB_BUCKETS * OCTAVES);
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;
  sum = 0;

  record(ms: number): void {
    const v = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.counts[bucketOf(v)]! += 1;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: HistogramData | Histogram): void {
    const data = other instanceof Histogram ? other.toData() : other;
    for (const [k, c] of Object.entries(data.counts)) this.counts[Number(k)]! += c;
    this.count += data.count;
    this.sum += data.sum;
    if (data.count > 0) {
      this.min = Math.min(this.min, data.min);
      this.max = Math.max(this.max, data.max);
    }
  }

  /** The value at or below which `q` (0..1) of the recorded values lie (bucket midpoint, clamped to min/max). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, valueOf(i)));
    }
    return this.max;
  }

  summary(): Percentiles {
    return {
      count: this.count,
      p50: round3(this.quantile(0.5)),
      p95: round3(this.quantile(0.95)),
      p99: round3(this.quantile(0.99)),
      max: round3(this.max),
      min: round3(this.count ? this.min : 0),
      mean: round3(this.count ? this.sum / this.count : 0),
    };
  }

  toData(): HistogramData {
    const counts: Record<number, number> = {};
    this.counts.forEach((c, i) => {
      if (c > 0) counts[i] = c;
    });
    return { counts, count: this.count, min: this.min, max: this.max, sum: this.sum };
  }

  static from(data: HistogramData): Histogram {
    const h = new Histogram();
    h.merge(data);
    return h;
  }
}

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  const x = Math.log2(ms / MIN_MS) * SUB_BUCKETS;
  return Math.min(SUB_BUCKETS * OCTAVES - 1, Math.floor(x));
}

function valueOf(bucket: number): number {
  return MIN_MS * 2 ** ((bucket + 0.5) / SUB_BUCKETS);
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
