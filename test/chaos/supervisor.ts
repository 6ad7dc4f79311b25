// Plays the process supervisor a deployment would have: a service process that died without a fault killing it is
// started again, and its death is reported (it is a finding: nothing injected should make a process exit by itself).
import type { Cluster } from '../../app/cluster.ts';

export interface Supervisor {
  /** The process a fault is working on (left alone), or undefined. */
  busy: (target: string | undefined) => void;
  stop: () => void;
  /** Every death seen, as a line with its time. */
  deaths: () => string[];
}

export function supervise(cluster: Cluster, log: (line: string) => void, everyMs = 1_000): Supervisor {
  let busy: string | undefined;
  let restarting = false;
  const deaths: string[] = [];
  const timer = setInterval(() => {
    if (restarting) return;
    const dead = cluster.names().find((name) => name !== busy && !cluster.isRunning(name));
    if (!dead) return;
    const line = `${new Date().toISOString()}: ${dead} died without a fault killing it; started again`;
    deaths.push(line);
    log(line);
    restarting = true;
    cluster
      .start(dead)
      .catch((err: unknown) =>
        log(`could not start ${dead} again: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => (restarting = false));
  }, everyMs);
  return {
    busy: (target) => (busy = target),
    stop: () => clearInterval(timer),
    deaths: () => [...deaths],
  };
}
