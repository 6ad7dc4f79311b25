/** A line per step on stdout: `[scenario +12.3s] what happened`. */
export interface Progress {
  (line: string): void;
  /** Seconds since the scenario started. */
  elapsed(): number;
}

export function progress(
  scenario: string,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Progress {
  const t0 = performance.now();
  const elapsed = () => Math.round((performance.now() - t0) / 100) / 10;
  const p = (line: string) => write(`[${scenario} +${elapsed().toFixed(1)}s] ${line}`);
  return Object.assign(p, { elapsed });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `check` is true, polling every `everyMs`, at most `timeoutMs`; returns whether it became true. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on this machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}
