// Where another process's main thread spent a stretch of wall time (Linux): on a CPU, waiting for one (the run
// queue: other processes had the cores), in uninterruptible sleep (D: mostly waiting for the disk), or asleep
// (S: idle, waiting for the network or a timer). From /proc/<pid>/task/<pid>/schedstat (on-CPU and run-queue
// nanoseconds) and its state sampled every few milliseconds from /proc/<pid>/task/<pid>/stat.
import { readFileSync } from 'node:fs';

export interface ThreadTime {
  wallMs: number;
  /** Shares of the wall time (0..1). */
  onCpu: number;
  /** Runnable but not running: the cores were busy with other threads. */
  waitingForCpu: number;
  /** Share of the samples in state D (uninterruptible: disk I/O, page faults on a busy disk). */
  diskWait: number;
  /** Share of the samples asleep (S): nothing to do, or waiting for the network or a timer. */
  asleep: number;
  samples: number;
}

function schedstat(pid: number): [number, number] | undefined {
  try {
    const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
    return [Number(onCpu), Number(waiting)];
  } catch {
    return undefined;
  }
}

function state(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
  } catch {
    return undefined;
  }
}

/** Watches `pid`'s main thread from now until `stop` (at most `maxMs`, then sampling stops by itself). */
export function watchThread(pid: number, everyMs = 5, maxMs = 600_000): { stop(): ThreadTime | undefined } {
  const t0 = performance.now();
  const before = schedstat(pid);
  const states: Record<string, number> = {};
  let samples = 0;
  const timer = setInterval(() => {
    if (performance.now() - t0 > maxMs) return clearInterval(timer);
    const s = state(pid);
    if (s === undefined) return;
    states[s] = (states[s] ?? 0) + 1;
    samples++;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const after = schedstat(pid);
      const wallNs = (performance.now() - t0) * 1e6;
      if (!before || !after || wallNs <= 0) return undefined;
      const share = (x: number) => Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000;
      return {
        wallMs: Math.round(wallNs / 1e6),
        onCpu: share((after[0] - before[0]) / wallNs),
        waitingForCpu: share((after[1] - before[1]) / wallNs),
        diskWait: share(samples ? (states.D ?? 0) / samples : 0),
        asleep: share(samples ? (states.S ?? 0) / samples : 0),
        samples,
      };
    },
  };
}

/** "on a CPU 36%, waiting for one 5%, disk 20%, asleep 39%". */
export function threadLine(t: ThreadTime | undefined): string {
  if (!t) return 'thread times unknown';
  const p = (x: number) => `${Math.round(x * 100)}%`;
  return (
    `on a CPU ${p(t.onCpu)}, waiting for one ${p(t.waitingForCpu)}, in disk wait ${p(t.diskWait)}, ` +
    `asleep ${p(t.asleep)}`
  );
}
