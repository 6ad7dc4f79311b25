// Process supervision for the local engines: spawn detached (so an engine outlives the `up` command),
// pid files, liveness, graceful stop, log tails and a bounded wait-until-ready loop.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export class EngineError extends Error {
  constructor(
    readonly engine: string,
    message: string,
    readonly logFile?: string,
  ) {
    super(`[${engine}] ${message}${logFile ? `\n--- last lines of ${logFile} ---\n${tailFile(logFile, 40)}` : ''}`);
    this.name = 'EngineError';
  }
}

export function tailFile(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log file)';
  const text = readFileSync(file, 'utf8').trimEnd();
  const cut = (line: string) => (line.length > 400 ? `${line.slice(0, 400)}… (${line.length} chars)` : line);
  return text.split('\n').slice(-lines).map(cut).join('\n');
}

export interface SpawnSpec {
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  pidFile: string;
}

/** Starts a process in its own process group with stdout+stderr appended to logFile; returns its pid. */
export function spawnDetached(spec: SpawnSpec): number {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  if (existsSync(spec.logFile)) renameSync(spec.logFile, `${spec.logFile}.1`);
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${spec.command}`);
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by its parent) still answers kill(0).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * The pid recorded in pidFile if that process is alive and its command line still contains `marker`
 * (guards against a recycled pid), otherwise undefined (and a stale pid file is removed).
 */
export function runningPid(pidFile: string, marker: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && cmdline(pid).includes(marker)) return pid;
  rmSync(pidFile, { force: true });
  return undefined;
}

/** Resident set size of a process in bytes (from /proc), or undefined if it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Sends `sig` to the process group `pid` leads (detached children lead their own), or to `pid` alone. */
export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** kill -9 of the process group, no grace (a crash: no shutdown hook runs). Resolves once the process is gone. */
export async function killProcess(pid: number): Promise<void> {
  signalGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
}

/** SIGTERM to the process group, then SIGKILL after graceMs. Resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 30_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => signalGroup(pid, sig);
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      await sleep(200);
      if (!isAlive(pid)) return;
    }
    await sleep(100);
  }
}

export function portAcceptsConnections(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface WaitOptions {
  engine: string;
  pid: number;
  logFile: string;
  timeoutMs: number;
  /** What is being waited for, e.g. "CQL on 127.0.0.1:19042". */
  what: string;
  onProgress?: (line: string) => void;
}

/**
 * Calls probe until it resolves true. Fails with the log tail if the process exits or the timeout passes.
 * Probe errors count as "not ready yet"; the last one is reported on timeout.
 */
export async function waitUntilReady(probe: () => Promise<boolean>, opts: WaitOptions): Promise<number> {
  const started = Date.now();
  let lastReport = started;
  let lastError = '';
  for (;;) {
    if (!isAlive(opts.pid)) {
      throw new EngineError(opts.engine, `process ${opts.pid} exited before ${opts.what} answered`, opts.logFile);
    }
    try {
      if (await probe()) return Date.now() - started;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    const now = Date.now();
    if (now - started > opts.timeoutMs) {
      const why = lastError ? ` (last probe error: ${lastError})` : '';
      throw new EngineError(
        opts.engine,
        `${opts.what} did not answer within ${opts.timeoutMs / 1000}s${why}`,
        opts.logFile,
      );
    }
    if (now - lastReport >= 5000) {
      lastReport = now;
      opts.onProgress?.(`[${opts.engine}] waiting for ${opts.what} (${Math.round((now - started) / 1000)}s)`);
    }
    await sleep(250);
  }
}

/**
 * Cross-process mutex (mkdir is atomic): serialises up/down of one engine between concurrent callers,
 * e.g. several test files calling up() at once. A lock whose owner died is taken over.
 */
export async function withLock<T>(
  lockDir: string,
  timeoutMs: number,
  fn: () => Promise<T>,
  onWait?: (ownerPid: number) => void,
): Promise<T> {
  mkdirSync(dirname(lockDir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let waitingReported = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(`${lockDir}/owner`, `${process.pid}\n`);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(`${lockDir}/owner`, 'utf8').trim());
      } catch {
        /* owner file not written yet */
      }
      if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!waitingReported && Number.isInteger(owner) && owner !== process.pid) {
        waitingReported = true;
        onWait?.(owner);
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for lock ${lockDir} (held by pid ${owner})`, { cause: err });
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
