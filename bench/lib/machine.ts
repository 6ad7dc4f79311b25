import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  node: string;
  platform: string;
  kernel: string;
  /** Open files one process may hold (RLIMIT_NOFILE): every socket is one. */
  openFiles: { soft: number | null; hard: number | null };
  /** The kernel's ephemeral port range: how many client sockets one source address can have to one server port. */
  ephemeralPorts: { low: number; high: number; count: number } | null;
  loadAverage: number[];
  /** The cores this process may run on (Cpus_allowed_list), which the processes it starts inherit. */
  cpusAllowed: string | null;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: round1(os.totalmem() / 2 ** 30),
    freeMemoryGiB: round1(os.freemem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    openFiles: openFilesLimit(),
    ephemeralPorts: portRange(),
    loadAverage: os.loadavg().map(round1),
    cpusAllowed: cpusAllowed(),
  };
}

const SPEED_WORK = Buffer.alloc(64 * 1024, 7);

/**
 * Milliseconds one core takes for a fixed piece of work (SHA-256 over 64 MiB, best of three). On these VMs the
 * same code's figures move by 30% and more over a day; a result records this before and after its run, so a slow
 * run can be told from a slow change.
 */
export function cpuSpeedMs(): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (let i = 0; i < 1024; i++) createHash('sha256').update(SPEED_WORK).digest();
    best = Math.min(best, performance.now() - t0);
  }
  return Math.round(best * 10) / 10;
}

export function openFilesLimit(): { soft: number | null; hard: number | null } {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = (line ?? '').replace('Max open files', '').trim().split(/\s+/);
    const num = (s: string | undefined) => (s === undefined || s === 'unlimited' ? null : Number(s));
    return { soft: num(soft), hard: num(hard) };
  } catch {
    return { soft: null, hard: null };
  }
}

function cpusAllowed(): string | null {
  try {
    const line = readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Cpus_allowed_list:'));
    return line ? line.slice('Cpus_allowed_list:'.length).trim() : null;
  } catch {
    return null;
  }
}

function portRange(): Machine['ephemeralPorts'] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low === undefined || high === undefined) return null;
    return { low, high, count: high - low + 1 };
  } catch {
    return null;
  }
}

/** Busy share of all cores between two calls (0..1), from the kernel's per-core tick counts. */
export class CpuMeter {
  private last = totals();

  /** Busy share since the previous call (or construction). */
  sample(): number {
    const now = totals();
    const busy = now.busy - this.last.busy;
    const all = now.all - this.last.all;
    this.last = now;
    return all > 0 ? Math.round((busy / all) * 1000) / 1000 : 0;
  }
}

function totals(): { busy: number; all: number } {
  let busy = 0;
  let all = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    const sum = t.user + t.nice + t.sys + t.idle + t.irq;
    all += sum;
    busy += sum - t.idle;
  }
  return { busy, all };
}

/** One process's CPU use between two calls, as a share of one core. */
export class ProcessCpu {
  private last = process.cpuUsage();
  private lastAt = performance.now();

  sample(): number {
    const now = process.cpuUsage();
    const at = performance.now();
    const used = now.user - this.last.user + (now.system - this.last.system);
    const share = at > this.lastAt ? used / 1000 / (at - this.lastAt) : 0;
    this.last = now;
    this.lastAt = at;
    return Math.round(share * 1000) / 1000;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** CPU use of other processes (by /proc/<pid>/stat) between two calls, in cores, per name. Linux only. */
export class PidsCpu {
  private last: Map<string, number>;
  private lastAt = performance.now();

  constructor(private readonly pids: Record<string, number>) {
    this.last = this.ticks();
  }

  /** Cores each process used since the previous call (a process gone meanwhile is left out). */
  sample(): Record<string, number> {
    const now = this.ticks();
    const at = performance.now();
    const seconds = (at - this.lastAt) / 1000;
    const cores: Record<string, number> = {};
    for (const [name, t] of now) {
      const before = this.last.get(name);
      if (before !== undefined && seconds > 0)
        cores[name] = Math.round(((t - before) / TICKS_PER_SEC / seconds) * 100) / 100;
    }
    this.last = now;
    this.lastAt = at;
    return cores;
  }

  private ticks(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, pid] of Object.entries(this.pids)) {
      try {
        // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        out.set(name, Number(fields[11]) + Number(fields[12]));
      } catch {
        // gone
      }
    }
    return out;
  }
}

/** USER_HZ: the unit of /proc/<pid>/stat times on Linux (100 on every mainstream kernel). */
const TICKS_PER_SEC = 100;

/** This process's event-loop delay since the previous call (how long a ready callback waited), in ms. */
export class LoopDelay {
  private readonly histogram = monitorEventLoopDelay({ resolution: 1 });

  constructor() {
    this.histogram.enable();
  }

  sample(): { p50: number; p99: number; max: number } {
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const out = {
      p50: ms(this.histogram.percentile(50)),
      p99: ms(this.histogram.percentile(99)),
      max: ms(this.histogram.max),
    };
    this.histogram.reset();
    return out;
  }
}
