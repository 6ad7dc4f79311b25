// `npm run chaos -- [--duration 20m] [...]`: cluster mode under load while faults are injected on a schedule, then a
// checker from the clients' side (test/chaos/checker.ts). Runs on engines of its own (test/chaos/isolation.ts), never the
// shared ones. Writes bench/results/chaos-<date>.json and an SVG; exits 1 if the checker found anything.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CheckReport } from '../test/chaos/checker.ts';
import { FULL_CYCLE, SHORT_CYCLE } from '../test/chaos/cycles.ts';
import { isolateEngines } from '../test/chaos/isolation.ts';

/** "90s", "20m", "1h" or plain milliseconds. */
function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('a duration like 90s, 20m or 1h');
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** A duration option, its default shown as written. */
function time(flags: string, description: string, fallback: string): Option {
  return new Option(flags, description).argParser(duration).default(duration(fallback), fallback);
}

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number');
  return n;
}

const program = new Command('chaos')
  .description('Faults on a schedule under load in cluster mode, checked from the clients (docs/decisions/0029).')
  .addOption(time('--duration <time>', 'how long the load and the faults run', '4m'))
  .addOption(time('--gap <time>', 'quiet time before each fault', '15s'))
  .addOption(time('--tail <time>', 'no fault starts in the last part of the run', '20s'))
  .option('--cycles <n>', 'run the fault cycle n times, then stop after the tail (0: until the duration)', int, 0)
  .option('--faults <list>', `fault specs in order, repeated (or "short"): default ${FULL_CYCLE.join(',')}`)
  .option('--users <n>', 'users', int, 48)
  .option('--devices <n>', 'devices per user (1-4)', int, 2)
  .addOption(time('--think <time>', "mean pause between one device's sends", '3s'))
  .addOption(time('--notice-every <time>', 'mean pause between notices (0: none)', '2s'))
  .option('--small-group-max <n>', 'IM_SMALL_GROUP_MAX_MEMBERS', int, 8)
  .option('--large-group-size <n>', 'members of each large group', int, 16)
  .addOption(time('--settle <time>', 'how long the final syncs may take', '90s'))
  .addOption(time('--process-down <time>', 'how long a killed service process stays down', '2s'))
  .addOption(time('--pause <time>', 'how long a SIGSTOP lasts', '8s'))
  .addOption(time('--engine-down <time>', 'how long a killed engine stays down', '3s'))
  .addOption(time('--store-down <time>', 'how long "down:cassandra" keeps Cassandra down', '30s'))
  .option('--out <dir>', 'where the result files go', 'bench/results')
  .option('--keep-engines', 'leave the chaos engines running afterwards (IM_ENGINES_KEEP=1 too)')
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse();
  const o = program.opts<Record<string, string | number | boolean | undefined>>();
  const num = (k: string) => o[k] as number;
  const faults = o.faults === 'short' ? SHORT_CYCLE : o.faults ? String(o.faults).split(',') : FULL_CYCLE;
  isolateEngines();
  // Only now: infra/ reads the engines' variables when first imported.
  const { runChaos } = await import('../test/chaos/run.ts');
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const { report, json, chart } = await runChaos({
    durationMs: num('duration'),
    gapMs: num('gap'),
    tailMs: num('tail'),
    cycles: num('cycles'),
    faults,
    users: num('users'),
    devicesPerUser: Math.min(4, Math.max(1, num('devices'))),
    smallGroupSize: 4,
    largeGroups: 2,
    largeGroupSize: num('largeGroupSize'),
    smallGroupMax: num('smallGroupMax'),
    thinkMs: num('think'),
    sendTimeoutMs: 150_000,
    noticeEveryMs: num('noticeEvery'),
    noticeRecipients: 3,
    timings: {
      processDownMs: num('processDown'),
      pauseMs: num('pause'),
      engineDownMs: num('engineDown'),
      storeDownMs: num('storeDown'),
    },
    settleMs: num('settle'),
    out: String(o.out),
    command: `npm run chaos${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    keepEngines: o.keepEngines === true || process.env.IM_ENGINES_KEEP === '1',
    log,
  });
  log(summary(report));
  log(`wrote ${json}${chart ? ` and ${chart}` : ''}`);
  return report.ok ? 0 : 1;
}

function summary(r: CheckReport): string {
  const lines = [
    `\nchecker: ${r.ok ? 'OK' : 'FOUND PROBLEMS'}`,
    `  ${r.acknowledged} sends acknowledged, ${r.unacknowledged} given up ${JSON.stringify(r.unacknowledgedBy)}, ` +
      `${r.observations} entries seen, ${r.resets} resets`,
    `  acknowledged messages lost: ${r.lost.count} (${r.lost.deliveries} device views)`,
    `  visible duplicates: ${r.duplicates.count}`,
    `  seqs reused: ${r.seqsReused.count}`,
    `  order inversions within a conversation: ${r.inversions.count}`,
    `  acknowledgements while the inbox store was down: ${r.acksWhileStoreDown.count}`,
    '  recovery after each fault (until every stalled send was acknowledged):',
    ...r.recovery.map(
      (f) =>
        `    ${f.fault}: ${f.recoveredAfterMs === null ? 'NOT RECOVERED' : `${(f.recoveredAfterMs / 1000).toFixed(1)} s`}` +
        ` (${f.stalledSends} sends stalled; ready after ${(f.readyAfterMs / 1000).toFixed(1)} s)`,
    ),
  ];
  for (const [name, finding] of Object.entries({
    lost: r.lost,
    duplicates: r.duplicates,
    seqsReused: r.seqsReused,
    inversions: r.inversions,
    acksWhileStoreDown: r.acksWhileStoreDown,
  })) {
    if (finding.count > 0) lines.push(`  ${name} examples: ${JSON.stringify(finding.examples.slice(0, 3))}`);
  }
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
