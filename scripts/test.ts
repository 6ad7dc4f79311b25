// `npm test`: static checks, then the local engines, then every *.test.ts under node:test. Fails loudly; never
// skips: an engine that cannot start ends the run with the engine's own log tail.
//   npm test                 everything
//   npm test -- <files...>   just these test files (after the static checks)
//   IM_TEST_SKIP_CHECKS=1    leave out typecheck, lint and format (for a quick loop while editing)
//   IM_ENGINES_KEEP=1        leave engines this run started running afterwards (the next run starts faster)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ENGINE_NAMES, down, status, up, type EngineName } from '../infra/engines.ts';

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

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  if (process.env.IM_TEST_SKIP_CHECKS !== '1') {
    await run('typecheck (tsc --noEmit)', bin('tsc'), ['--noEmit', '-p', '.']);
    await run('lint (eslint)', bin('eslint'), ['.']);
    await run('format (prettier --check)', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
  }
  const files = only.length > 0 ? only : testFiles(root).sort();
  const before = await status();
  const startedHere: EngineName[] = ENGINE_NAMES.filter((n) => before[n] === 'down');
  const t0 = Date.now();
  process.stdout.write(
    `\n▶ engines (${startedHere.length > 0 ? `starting ${startedHere.join(', ')}` : 'all running'})\n`,
  );
  try {
    await up(undefined, {
      onProgress: (line) => process.stdout.write(`  +${((Date.now() - t0) / 1000).toFixed(1)}s ${line}\n`),
    });
    process.stdout.write(`✔ engines (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    await run(`tests (${files.length} files)`, process.execPath, [
      '--import',
      'tsx',
      '--test',
      '--test-timeout=300000',
      '--test-force-exit', // a failed test may leave clients reconnecting; report it rather than hang
      '--test-reporter=spec',
      ...files,
    ]);
  } finally {
    if (process.env.IM_ENGINES_KEEP !== '1' && startedHere.length > 0) await down(startedHere);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\n✖ ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
