import { Counter } from 'prom-client';
import { registry } from '../../lib/metrics.ts';

/** Key uploads by outcome: replaced (a first upload or a reset), updated, refused. */
export const keyUploads = new Counter({
  name: 'im_e2e_key_uploads_total',
  help: 'End-to-end key uploads by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const keyQueries = new Counter({
  name: 'im_e2e_key_queries_total',
  help: 'End-to-end key queries answered',
  registers: [registry],
});

/** What the bundles of queries handed out: a one-time key, or the fallback key once a device had none left. */
export const keysClaimed = new Counter({
  name: 'im_e2e_keys_claimed_total',
  help: 'Keys handed out in bundles, by kind: one_time or fallback',
  labelNames: ['kind'] as const,
  registers: [registry],
});
