// `npm run bench` (the standard set) or `npm run bench -- <scenario...> [--size tiny|default|large] [flags]`.
// Drives load from separate client processes over real WebSockets on 127.0.0.0/8, prints a line per step, and
// writes bench/results/<scenario>-<date>.json plus an SVG chart. See bench/README.md.
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { useRunAuth, type Ctx, type Flags, type Size } from './lib/fleet.ts';
import { machine } from './lib/machine.ts';
import { progress } from './lib/progress.ts';
import { codeVersion, markStart, placementNote, DEFAULT_OUT, PROCESS_LIMIT_NOTE, type Result } from './lib/result.ts';
import { ceilings } from './scenarios/ceilings.ts';
import { e2e } from './scenarios/e2e.ts';
import { fanout } from './scenarios/fanout.ts';
import { group } from './scenarios/group.ts';
import { idle } from './scenarios/idle.ts';
import { latency } from './scenarios/latency.ts';
import { notices } from './scenarios/notices.ts';
import { push } from './scenarios/push.ts';
import { search, type SearchFlags } from './scenarios/search.ts';
import { sync } from './scenarios/sync.ts';

export const SCENARIOS = { idle, fanout, latency, group, sync, notices, push, search, e2e, ceilings } as const;
export type ScenarioName = keyof typeof SCENARIOS;
export const STANDARD_SET: ScenarioName[] = [
  'idle',
  'fanout',
  'latency',
  'group',
  'sync',
  'notices',
  'push',
  'search',
  'e2e',
  'ceilings',
];

export interface RunOptions {
  size: Size;
  out: string;
  flags: Flags;
  verbose?: boolean;
  command?: string;
  /** Where progress lines go (default stdout). */
  write?: (line: string) => void;
}

export interface Ran {
  scenario: ScenarioName;
  json: string;
  chart: string | undefined;
  result: Result;
}

/** Runs scenarios one after another; each writes its result file. */
export async function runScenarios(names: ScenarioName[], o: RunOptions): Promise<Ran[]> {
  const auth = useRunAuth();
  const write = o.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ran: Ran[] = [];
  for (const name of names) {
    const log = progress(name, write);
    const tail: string[] = [];
    const ctx: Ctx = {
      size: o.size,
      out: o.out,
      log,
      auth,
      runId: `b${Date.now().toString(36)}`,
      command: o.command ?? `npm run bench -- ${names.join(' ')} --size ${o.size}`,
      flags: o.flags,
      onLine: (line) => {
        if (o.verbose) write(line);
        tail.push(line);
        if (tail.length > 200) tail.shift();
      },
    };
    try {
      markStart();
      const written = await SCENARIOS[name](ctx);
      const speed = written.result.cpuSpeedMs;
      log(
        `wrote ${written.json}${written.chart ? ` and ${written.chart}` : ''} ` +
          `(machine speed check ${speed.atStart} ms before, ${speed.atEnd} ms after: lower is faster)`,
      );
      ran.push({ scenario: name, ...written });
    } catch (err) {
      if (tail.length) write(`--- last lines of ${name}'s processes ---\n${tail.slice(-40).join('\n')}`);
      throw err;
    }
  }
  return ran;
}

function int(name: string, min = 1) {
  return (v: string) => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer of at least ${min}`);
    return n;
  };
}

function list(v: string): number[] {
  const out = v.split(',').map((x) => Number(x.trim().replace(/_/g, '')));
  if (out.some((n) => !Number.isFinite(n) || n <= 0)) throw new InvalidArgumentError('rates: comma-separated numbers');
  return out;
}

async function main(): Promise<void> {
  const program = new Command('bench')
    .description(
      `IM backend benchmarks. With no scenario: the standard set (${STANDARD_SET.join(', ')}).\n` + PROCESS_LIMIT_NOTE,
    )
    .argument('[scenarios...]', `any of: ${Object.keys(SCENARIOS).join(', ')}`)
    .addOption(
      new Option('--size <size>', 'default sizes of every scenario')
        .choices(['tiny', 'default', 'large'])
        .default('default'),
    )
    .option('--out <dir>', 'where result files go', DEFAULT_OUT)
    .option('--connections <n>', 'idle: connections on the one gateway process', int('connections'))
    .option('--clients <n>', 'fanout: connected clients; notices: online users', int('clients'))
    .option(
      '--users <n>',
      'notices: registered users (default 100000); push: devices the notice to everyone reaches; search: users of ' +
        'the Elasticsearch set (default 10000)',
      int('users'),
    )
    .option('--workers <n>', 'client processes', int('workers'))
    .option(
      '--rates <list>',
      'latency: offered msg/s steps, e.g. 1000,5000,10000; notices: notices/s steps; push: sender pushes/s steps',
      list,
    )
    .option('--step-sec <n>', 'latency, notices: seconds per rate step; e2e: seconds per turn', int('step-sec'))
    .option('--hold-sec <n>', 'idle: hold the connections this long once open (a soak, e.g. 600)', int('hold-sec'))
    .option(
      '--spread <n>',
      'idle: hold n connections across gateway processes (default 100000; 0 skips)',
      int('spread', 0),
    )
    .option('--pairs <n>', 'latency, e2e: sender/recipient pairs', int('pairs'))
    .option('--storm-clients <n>', 'sync: clients in the reconnect storm', int('storm-clients'))
    .option('--backlog <n>', 'sync: messages in the GetDiff backlog', int('backlog'))
    .option('--messages <n>', 'search: messages indexed into Elasticsearch (default 1000000)', int('messages'))
    .option(
      '--embedded-messages <n>',
      'search: messages indexed into the embedded index (default 200000)',
      int('embedded-messages'),
    )
    .option('--writers <n>', 'search: concurrent apply() callers, one message each (default 2000)', int('writers'))
    .option('--queries <n>', 'search: queries per measurement (default 2000)', int('queries'))
    .addOption(
      new Option('--mode <mode>', 'latency/sync/e2e: which modes (e2e: embedded unless asked)').choices([
        'embedded',
        'cluster',
        'both',
      ]),
    )
    .option('--verbose', 'print every line the servers and clients print')
    .showHelpAfterError();
  program.parse();
  const o = program.opts<Flags & SearchFlags & { size: Size; out: string; verbose?: boolean }>();
  const names = (program.args.length ? program.args : STANDARD_SET) as ScenarioName[];
  const unknown = names.filter((n) => !(n in SCENARIOS));
  if (unknown.length)
    program.error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const m = machine();
  const code = codeVersion();
  process.stdout.write(
    `bench: ${names.join(', ')} at size ${o.size} on ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ` +
      `open files ${m.openFiles.soft}/${m.openFiles.hard}, code ${code.commit}${code.dirty ? ' (uncommitted changes)' : ''}\n` +
      `note: ${PROCESS_LIMIT_NOTE}\n` +
      `placement: ${placementNote(m)}\n`,
  );
  const { size, out, verbose, ...flags } = o;
  const ran = await runScenarios(names, {
    size,
    out,
    flags,
    verbose: verbose ?? false,
    command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
  });
  process.stdout.write('\nsummary\n');
  for (const r of ran) {
    if (r.result.skipped) {
      process.stdout.write(`  ${r.scenario}: ${r.result.skipped}\n`);
      continue;
    }
    for (const t of r.result.targets) {
      const state = t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED';
      process.stdout.write(
        `  ${r.scenario}: ${t.name}: ${t.measured ?? '-'} ${t.unit} (target ${t.target}) ${state}${t.by && !t.met ? `, ${t.by}` : ''}\n`,
      );
    }
    process.stdout.write(`    ${r.json}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
