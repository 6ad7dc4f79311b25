import type { Logger } from '../lib/logger.ts';

/**
 * A hook that kills this process (kill -9) the n-th time it runs, when the variable `name` holds n > 0; undefined
 * otherwise. For crash tests only: they set the variable on the process they start.
 */
export function killAfter(name: string, log: Logger, what: string): (() => void) | undefined {
  const n = Number(process.env[name] ?? 0);
  if (!(n > 0)) return undefined;
  let count = 0;
  return () => {
    if (++count !== n) return;
    log.warn({ count }, `fault injection: kill -9 after ${what}`);
    process.kill(process.pid, 'SIGKILL');
  };
}
