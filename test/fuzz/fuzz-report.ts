import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { renderSvg } from '../../bench/lib/svg.ts';
import type { FuzzResult } from './fuzz-run.ts';

const MiB = 1024 * 1024;

/** The run's result as JSON and its memory over time as an SVG chart, side by side in `dir`; returns the paths. */
export function writeFuzzReport(result: FuzzResult, dir: string): { json: string; chart: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `fuzz-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const chart = `${base}.svg`;
  const t = result.memory.trend;
  const points = (key: 'heapUsed' | 'rss') =>
    result.memory.points.map((p): [number, number] => [p.atMs / 1000, p[key] / MiB]);
  writeFileSync(
    chart,
    renderSvg(
      `npm run fuzz: server memory, ${result.ok ? 'passed' : 'FAILED'}`,
      [
        {
          kind: 'line',
          title: 'Server heap after a full GC, and RSS',
          xLabel: 'seconds',
          yLabel: 'MiB',
          series: [
            { name: 'heap used', points: points('heapUsed') },
            { name: 'rss', points: points('rss'), dashed: true },
          ],
          vLines: [{ x: t.warmUpMs / 1000, label: 'warm-up ends' }],
        },
      ],
      [
        `${result.connections} connections, ${result.frames} frames, ${result.http.requests} HTTP requests, ` +
          `${result.bursts} bursts in ${(result.durationMs / 1000).toFixed(0)} s, seed ${result.seed}`,
        `heap slope after warm-up ${t.heapSlopeMiBPerMin.toFixed(2)} MiB/min (fitted growth ` +
          `${t.heapGrowthMiB.toFixed(1)} MiB, bound ${t.boundMiB} MiB); rss ${t.rssSlopeMiBPerMin.toFixed(2)} MiB/min`,
        `${cpus().length} cores, Node ${process.version}; findings: ${result.findings.length}`,
      ],
    ),
  );
  const json = `${base}.json`;
  writeFileSync(json, JSON.stringify({ ...result, chart: `${base.split('/').at(-1)}.svg` }, null, 2) + '\n');
  return { json, chart };
}
