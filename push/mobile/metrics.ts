import { Counter, Histogram } from 'prom-client';
import { registry } from '../../lib/metrics.ts';

/** Mobile pushes by provider and outcome: sent, dead-token, failed, dead-letter, no-provider. */
export const mobilePushes = new Counter({
  name: 'im_mobile_pushes_total',
  help: 'Mobile pushes by provider and outcome',
  labelNames: ['provider', 'outcome'] as const,
  registers: [registry],
});

export const mobilePushRetries = new Counter({
  name: 'im_mobile_push_retries_total',
  help: 'Mobile pushes sent again after a provider asked to retry (429, 5xx, connection errors)',
  labelNames: ['provider'] as const,
  registers: [registry],
});

/** From a message being stored to its push being accepted by the provider. */
export const mobilePushDelaySeconds = new Histogram({
  name: 'im_mobile_push_store_to_accept_seconds',
  help: 'Time from a message being stored to the provider accepting its push',
  labelNames: ['provider'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
  registers: [registry],
});
