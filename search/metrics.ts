import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../lib/metrics.ts';

/** From a message being sent (its sent_at_ms) to its index op being applied: the indexing lag, per op. */
export const searchIndexLagSeconds = new Histogram({
  name: 'im_search_index_lag_seconds',
  help: 'Time from a message being sent to its search index op being applied',
  labelNames: ['op'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
  registers: [registry],
});

/** The lag of the newest message applied so far: what an alert on "search is behind" watches. */
export const searchIndexBehindSeconds = new Gauge({
  name: 'im_search_index_behind_seconds',
  help: 'Lag of the most recently applied message (seconds from sent to searchable-pending-refresh)',
  registers: [registry],
});

/** Entries the indexer saw and what it did with them: upsert, edit, delete, or skipped (why). */
export const searchIndexEntries = new Counter({
  name: 'im_search_index_entries_total',
  help: 'Stored entries seen by the search indexer, by what was done',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
