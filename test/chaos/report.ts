// The result of a chaos run as the benchmarks write theirs (bench/lib/result.ts): bench/results/chaos-<date>.json
// and an SVG beside it: acknowledgements per second with each fault marked, and each fault's recovery time. The whole
// history goes beside them too (-history.json), to look into a finding or check it again with a changed checker.
import { writeFileSync } from 'node:fs';
import { checkTarget, writeResult, type Target } from '../../bench/lib/result.ts';
import type { Chart } from '../../bench/lib/svg.ts';
import type { CheckReport } from './checker.ts';
import type { History } from './history.ts';

export interface ChaosRun {
  startedAt: string;
  command: string;
  load: Record<string, unknown>;
  history: History;
  report: CheckReport;
  notes: string[];
}

/** Shortened fault names for the chart's markers. */
const short = (name: string) =>
  name
    .replace('kill -9 ', 'k9 ')
    .replace('SIGSTOP ', 'stop ')
    .replace(', data wiped', ' wiped')
    .replace(' down ', ' ↓');

function acksPerSecond(h: History): [number, number][] {
  const buckets = new Map<number, number>();
  for (const s of h.sends) {
    if (!s.ack) continue;
    const sec = Math.floor((s.ack.atMs - h.startedAtMs) / 1000);
    buckets.set(sec, (buckets.get(sec) ?? 0) + 1);
  }
  const last = Math.floor((h.endedAtMs - h.startedAtMs) / 1000);
  return Array.from({ length: last + 1 }, (_, sec) => [sec, buckets.get(sec) ?? 0]);
}

function charts(run: ChaosRun): Chart[] {
  const h = run.history;
  const at = (ms: number) => Math.round((ms - h.startedAtMs) / 100) / 10;
  return [
    {
      kind: 'line',
      title: 'Acknowledged sends per second, faults marked',
      xLabel: 'seconds since the run started',
      yLabel: 'acknowledgements / s',
      series: [{ name: 'acks/s', points: acksPerSecond(h) }],
      vLines: h.faults.map((f) => ({ x: at(f.startedAtMs), label: short(f.name) })),
    },
    {
      kind: 'bar',
      title: 'Recovery: until every send the fault stalled was acknowledged',
      yLabel: 'seconds from the fault',
      groups: run.report.recovery.map((r, i) => ({
        label: `${i + 1}`,
        bars: [{ name: 'recovered after (s)', value: (r.recoveredAfterMs ?? Number.NaN) / 1000 }],
      })),
    },
  ];
}

function targets(r: CheckReport): Target[] {
  return [
    checkTarget('acknowledged messages lost', r.lost.count, '<=', 0, 'messages'),
    checkTarget('visible duplicates', r.duplicates.count, '<=', 0, 'messages'),
    checkTarget('seqs reused', r.seqsReused.count, '<=', 0, 'seqs'),
    checkTarget('order inversions within a conversation', r.inversions.count, '<=', 0, 'entries'),
    checkTarget('acknowledgements while the inbox store was down', r.acksWhileStoreDown.count, '<=', 0, 'acks'),
  ];
}

export function writeChaosResult(
  out: string,
  run: ChaosRun,
): { json: string; chart: string | undefined; history: string } {
  const r = run.report;
  const footer = [
    `${r.acknowledged} acknowledged sends, ${r.unacknowledged} given up; ${run.history.faults.length} faults; ` +
      `lost ${r.lost.count}, duplicates ${r.duplicates.count}, seqs reused ${r.seqsReused.count}, ` +
      `inversions ${r.inversions.count}, acks while the store was down ${r.acksWhileStoreDown.count}`,
    `faults: ${run.history.faults.map((f, i) => `${i + 1} ${short(f.name)}`).join(', ')}`.slice(0, 160),
  ];
  const written = writeResult(
    out,
    {
      scenario: 'chaos',
      title: 'Chaos: faults under load, checked from the clients',
      startedAt: run.startedAt,
      command: run.command,
      size: '-',
      mode: ['cluster'],
      load: run.load,
      figures: { ...r, faults: run.history.faults },
      baselines: {},
      targets: targets(r),
      notes: run.notes,
    },
    charts(run),
    footer,
  );
  const history = written.json.replace(/\.json$/, '-history.json');
  writeFileSync(history, JSON.stringify(run.history));
  return { json: written.json, chart: written.chart, history };
}
