// The fault schedules by name (specs as faults.ts reads them). Apart from faults.ts so that the command line
// can name them before infra/ is imported (isolation.ts).

/** Every fault of the issue once, in an order that lets each recover before the next touches the same part. */
export const FULL_CYCLE = [
  'kill:logic',
  'kill:gateway-1',
  'pause:logic',
  'kill:kafka',
  'kill:offline',
  'kill:gateway-2',
  'kill:redis',
  'kill:sync',
  'pause:gateway-1',
  'kill:cassandra',
  'kill:push',
  'kill:search',
  'wipe:redis',
  'pause:redis',
  'down:cassandra',
];

/** The short run inside `npm test`: a service, a gateway, a pause and an engine. */
export const SHORT_CYCLE = ['kill:logic', 'kill:gateway-1', 'pause:logic', 'kill:redis'];
