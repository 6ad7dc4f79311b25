import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { cpuSpeedMs, machine, type Machine } from './machine.ts';
import { renderSvg, type Chart } from './svg.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const DEFAULT_OUT = join(ROOT, 'bench', 'results');

/** Said in every result: why the harness uses several processes. */
export const PROCESS_LIMIT_NOTE =
  'A process here may hold at most about 20,000 open files (hard RLIMIT_NOFILE), and every socket is one: a ' +
  'gateway or a client worker process holds at most ~15,000-19,000 connections, so scale comes from several ' +
  'gateway and client processes, and client sockets are spread over several 127.0.0.x source addresses ' +
  '(one address has only the ephemeral port range to one server port).';

/**
 * Said in every result: how processes were placed. Latency between two processes on these VMs depends on whether
 * they share a core, and the harness pins nothing.
 */
export function placementNote(m: Machine = machine()): string {
  const cores = m.cpusAllowed ?? `all ${m.cores}`;
  return (
    `No process is pinned: servers, client processes and engines all run on cores ${cores} wherever the ` +
    "kernel's scheduler puts them, so two processes exchanging a message may share a core or not from one moment " +
    'to the next, and every figure includes the clients competing with the servers for the same cores.'
  );
}

/**
 * Where a scenario has no Bun counterpart: Bun's server (the ceiling for user-space servers) is measured in the
 * idle, fanout and latency scenarios (bench/servers/bun-ws.ts); this scenario's job runs through the whole system
 * (bus, stores, services), which the naive relay would not stand in for.
 */
export const BUN_BASELINE = {
  available: false,
  reason:
    "Bun's server is measured in the idle, fanout and latency scenarios (memory per connection, fan-out rate, " +
    'the naive relay); this ' +
    "scenario's job runs through the whole system, which a Bun relay would not stand in for",
};

let startLoad = os.loadavg();
let startSpeed = 0;

/** Called as a scenario starts: remembers the machine's load average and speed then. */
export function markStart(): void {
  startLoad = os.loadavg().map((x) => Math.round(x * 100) / 100);
  startSpeed = cpuSpeedMs();
}

export interface Target {
  name: string;
  /** e.g. "<= 4096 B/conn" */
  target: string;
  measured: number | null;
  unit: string;
  met: boolean | null;
  /** How far off, in words (when missed), or "not measured: why". */
  by?: string;
  /** What limits the figure (when missed). */
  limitedBy?: string;
}

export interface Result {
  scenario: string;
  title: string;
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  command: string;
  size: string;
  machine: Machine;
  mode: string[];
  /** The load offered: client counts, rates, sizes, durations, processes, source addresses. */
  load: Record<string, unknown>;
  /** The measured figures. */
  figures: Record<string, unknown>;
  baselines: Record<string, unknown>;
  targets: Target[];
  notes: string[];
  processLimit: string;
  /** How processes were placed on the cores (placementNote). */
  placement: string;
  /** The machine's load average when the scenario started (others may run tests on this machine too). */
  loadAverageAtStart: number[];
  /** cpuSpeedMs() as the scenario started and as it ended: how fast this VM was then (lower is faster). */
  cpuSpeedMs: { atStart: number; atEnd: number };
  /** The code measured: commit, and whether tracked files had uncommitted changes. */
  code: { commit: string; dirty: boolean; changed: string[] };
  skipped?: string;
  chart?: string;
}

export function stamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
}

/** Writes `<out>/<scenario>-<date>.json` and the chart beside it; returns both paths. */
export function writeResult(
  out: string,
  result: Omit<
    Result,
    | 'machine'
    | 'processLimit'
    | 'placement'
    | 'chart'
    | 'finishedAt'
    | 'durationSec'
    | 'code'
    | 'loadAverageAtStart'
    | 'cpuSpeedMs'
  >,
  charts: Chart[],
  footer: string[] = [],
): { json: string; chart: string | undefined; result: Result } {
  mkdirSync(out, { recursive: true });
  const base = join(out, `${result.scenario}-${stamp(new Date(result.startedAt))}`);
  const chartPath = charts.length ? `${base}.svg` : undefined;
  const finished = new Date();
  const full: Result = {
    ...result,
    finishedAt: finished.toISOString(),
    durationSec: Math.round((finished.getTime() - Date.parse(result.startedAt)) / 100) / 10,
    machine: machine(),
    processLimit: PROCESS_LIMIT_NOTE,
    placement: placementNote(),
    loadAverageAtStart: startLoad,
    cpuSpeedMs: { atStart: startSpeed, atEnd: cpuSpeedMs() },
    code: codeVersion(),
    ...(chartPath ? { chart: relative(out, chartPath) } : {}),
  };
  if (chartPath) {
    const m = full.machine;
    writeFileSync(
      chartPath,
      renderSvg(result.title, charts, [
        ...footer,
        `${m.cores} cores (${m.cpuModel}, no process pinned), ${m.memoryGiB} GiB, Node ${m.node}, ${result.startedAt}`,
      ]),
    );
  }
  const json = `${base}.json`;
  writeFileSync(json, JSON.stringify(full, null, 2) + '\n');
  return { json, chart: chartPath, result: full };
}

/** A target of the form "measured <= limit" (or >=), with how far off when missed. */
export function checkTarget(
  name: string,
  measured: number | null,
  op: '<=' | '<' | '>=',
  limit: number,
  unit: string,
  limitedBy?: string,
): Target {
  const target = `${op} ${limit} ${unit}`;
  if (measured === null || !Number.isFinite(measured))
    return { name, target, measured: null, unit, met: null, by: 'not measured', ...(limitedBy ? { limitedBy } : {}) };
  const met = op === '<=' ? measured <= limit : op === '<' ? measured < limit : measured >= limit;
  const t: Target = { name, target, measured, unit, met };
  if (!met) {
    const diff = Math.abs(measured - limit);
    const pct = limit !== 0 ? Math.round((diff / limit) * 1000) / 10 : 0;
    t.by = `${op === '>=' ? 'short' : 'over'} by ${round(diff)} ${unit} (${pct}%)`;
    if (limitedBy) t.limitedBy = limitedBy;
  }
  return t;
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function codeVersion(): { commit: string; dirty: boolean; changed: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT })
      .toString()
      .split('\n')
      .map((l) => l.slice(3).trim())
      .filter(Boolean);
    return { commit, dirty: changed.length > 0, changed: changed.slice(0, 30) };
  } catch {
    return { commit: 'unknown', dirty: false, changed: [] };
  }
}
