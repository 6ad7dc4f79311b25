// `npm run fuzz`: mutated frames and requests against a running embedded server, for a bounded time (issue 22,
// decision 0030). It checks that the server stays up, answers every connection, closes abusive ones cleanly and keeps
// its heap flat; it writes a JSON result and a chart of memory over time, and exits 1 on any finding.
//   npm run fuzz                             two minutes, a random seed
//   npm run fuzz -- --duration 10m --seed 42 (durations: 90s, 10m, or milliseconds)
//   npm run fuzz -- --out /tmp/fuzz          where the result goes (default bench/results, not committed)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFuzzReport } from '../test/fuzz/fuzz-report.ts';
import { runFuzz } from '../test/fuzz/fuzz-run.ts';

/** "90s", "10m" or plain milliseconds. */
function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration ${text}: give e.g. 90s, 10m or milliseconds`);
  const unit = { ms: 1, s: 1_000, m: 60_000 }[m[2] ?? 'ms']!;
  return Math.round(Number(m[1]) * unit);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2m' },
      seed: { type: 'string' },
      out: { type: 'string', default: join(import.meta.dirname, '..', 'bench', 'results') },
    },
  });
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const duration = durationMs(values.duration);
  process.stdout.write(`fuzz: ${duration / 1000} s, seed ${seed} (replay with --seed ${seed})\n`);
  const result = await runFuzz({
    durationMs: duration,
    seed,
    onProgress: (line) => process.stdout.write(`  ${line}\n`),
  });
  const { json, chart } = writeFuzzReport(result, values.out);
  const t = result.memory.trend;
  process.stdout.write(
    [
      `${result.ok ? '✔' : '✖'} fuzz ${result.ok ? 'passed' : 'FAILED'}: ${result.connections} connections, ` +
        `${result.frames} frames, ${result.http.requests} HTTP requests, ${result.checks.passed} checks passed ` +
        `(worst ${result.checks.worstMs} ms), ${result.abusive.closedCleanly}/${result.abusive.opened} abusive ` +
        'connections closed cleanly',
      `  heap after warm-up: ${t.heapSlopeMiBPerMin.toFixed(2)} MiB/min, fitted growth ${t.heapGrowthMiB.toFixed(1)} ` +
        `MiB (bound ${t.boundMiB}); rss ${t.rssSlopeMiBPerMin.toFixed(2)} MiB/min`,
      ...result.findings.map((f) => `  finding: ${f}`),
      `  ${json}`,
      `  ${chart}`,
      '',
    ].join('\n'),
  );
  process.exitCode = result.ok ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
