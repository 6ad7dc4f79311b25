import { Counter, Histogram } from 'prom-client';
import { registry } from '../../lib/metrics.ts';

/** Notices by app, priority and outcome: accepted, duplicate, refused, sent, cancelled, expired. */
export const noticesTotal = new Counter({
  name: 'im_notices_total',
  help: 'Notices by app, priority and outcome',
  labelNames: ['app', 'priority', 'outcome'] as const,
  registers: [registry],
});

/** From the API accepting a notice (or its deliver_at) to its first online delivery. */
export const noticeFirstDeliverySeconds = new Histogram({
  name: 'im_notice_first_delivery_seconds',
  help: 'Time from accepting a notice (or its scheduled time) to its first delivery to an online device',
  labelNames: ['priority'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
