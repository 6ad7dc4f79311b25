// `npm test`: static checks, then the local engines, then every *.test.ts under node:test. Fails loudly; never
// skips: an engine that cannot start ends the run with the engine's own log tail.
//   npm test                 everything, on all four engines
//   npm test -- <files...>   just these test files (after the static checks), on just the engines they need
//   npm run test:unit        (--unit) every test file that needs no engine, none started, no static checks;
//                            prints how long it took. With files: those of them that need no engine.
//   IM_TEST_SKIP_CHECKS=1    leave out typecheck, lint and format (for a quick loop while editing)
// What a file needs is read off its source and what it imports (test/engines-needed.ts, decision 0022).
//   IM_ENGINES_KEEP=1        leave engines this run started running afterwards (the next run starts faster)
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { ENGINE_NAMES, down, status, up, type EngineName } from '../infra/engines.ts';
import { enginesNeeded, type Needs } from '../test/engines-needed.ts';

const root = join(import.meta.dirname, '..');
const SKIP_DIRS = new Set(['node_modules', '.git', '.engines', '.data', 'proto', 'results']);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

function run(label: string, command: string, args: string[]): Promise<void> {
  const started = Date.now();
  process.stdout.write(`\n▶ ${label}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const took = ((Date.now() - started) / 1000).toFixed(1);
      if (code === 0) {
        process.stdout.write(`✔ ${label} (${took} s)\n`);
        resolve();
      } else {
        reject(new Error(`${label} failed (${signal ?? `exit ${code}`}) after ${took} s`));
      }
    });
  });
}

const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** A file's source by its path from the root, for the scan; undefined for what is not a file. */
function readSource(path: string): string | undefined {
  const full = join(root, path);
  try {
    return statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** A path as given on the command line, as the scan knows it: from the root, posix separators. */
const fromRoot = (file: string) => relative(root, resolve(file)).split(sep).join('/');

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

function runTests(files: string[], concurrency?: number): Promise<void> {
  return run(`tests (${files.length} files)`, process.execPath, [
    '--import',
    'tsx',
    '--test',
    ...(concurrency === undefined ? [] : [`--test-concurrency=${concurrency}`]),
    // Per file as well as per test: the benchmark's tiny run of the whole standard set takes 4-6 minutes here.
    '--test-timeout=600000',
    '--test-force-exit', // a failed test may leave clients reconnecting; report it rather than hang
    '--test-reporter=spec',
    ...files,
  ]);
}

/**
 * Files at once in the unit tier. They mostly wait (timers, sockets to their own servers), so more files than cores
 * fit; node's default (cores - 1) runs them one by one on a two-core machine. The engine tier keeps the default:
 * its files share the engines.
 */
const UNIT_CONCURRENCY = Math.max(4, availableParallelism());

/** The fast tier: every file that needs no engine, and nothing else: no engine started, no static checks. */
async function unitTier(given: string[]): Promise<void> {
  const t0 = Date.now();
  const all = given.length > 0 ? given.map(fromRoot) : testFiles(root).sort();
  const needing = new Map(all.map((f) => [f, enginesNeeded(f, readSource)]));
  const files = all.filter((f) => needing.get(f)?.engines.length === 0);
  const left = all.length - files.length;
  process.stdout.write(`\n▶ unit tier: ${files.length} files need no engine (${left} left out: they need one)\n`);
  if (files.length === 0) throw new Error('unit tier: no test file here runs without an engine');
  await runTests(files, UNIT_CONCURRENCY);
  process.stdout.write(`✔ unit tier in ${seconds(t0)} s\n`);
}

/** Which engines the run needs: all four for the whole suite, else what the given files need, each with why. */
function enginesFor(files: string[], whole: boolean): EngineName[] {
  if (whole) return [...ENGINE_NAMES];
  const needs = new Map<string, Needs>(files.map((f) => [f, enginesNeeded(fromRoot(f), readSource)]));
  for (const [file, n] of needs) {
    const what = n.engines.length === ENGINE_NAMES.length ? 'all engines' : n.engines.join(', ') || 'no engine';
    process.stdout.write(`  ${file}: ${what}${n.reasons.length > 0 ? ` (${n.reasons[0]})` : ''}\n`);
  }
  return ENGINE_NAMES.filter((name) => [...needs.values()].some((n) => n.engines.includes(name)));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const only = args.filter((a) => a !== '--unit');
  if (args.includes('--unit')) return unitTier(only);
  if (process.env.IM_TEST_SKIP_CHECKS !== '1') {
    await run('typecheck (tsc --noEmit)', bin('tsc'), ['--noEmit', '-p', '.']);
    await run('typecheck of the web pages (tsc --noEmit -p web)', bin('tsc'), ['--noEmit', '-p', 'web']);
    await run('lint (eslint)', bin('eslint'), ['.']);
    await run('format (prettier --check)', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
  }
  const files = only.length > 0 ? only : testFiles(root).sort();
  const needed = enginesFor(files, only.length === 0);
  if (needed.length === 0) {
    process.stdout.write('\n▶ engines: none needed\n');
    return runTests(files);
  }
  const before = await status();
  const startedHere: EngineName[] = needed.filter((n) => before[n] === 'down');
  const t0 = Date.now();
  process.stdout.write(
    `\n▶ engines (${startedHere.length > 0 ? `starting ${startedHere.join(', ')}` : `${needed.join(', ')} running`})\n`,
  );
  try {
    await up(needed, {
      onProgress: (line) => process.stdout.write(`  +${seconds(t0)}s ${line}\n`),
    });
    process.stdout.write(`✔ engines (${seconds(t0)} s)\n`);
    await runTests(files);
  } finally {
    if (process.env.IM_ENGINES_KEEP !== '1' && startedHere.length > 0) await down(startedHere);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\n✖ ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
