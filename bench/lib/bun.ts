// Where the Bun ceiling baseline's binary is: the `bun` npm package (a devDependency). Its bin/bun.exe is a
// placeholder until its postinstall links in the real binary from the platform package @oven/bun-<platform>
// (package.json's allowScripts lets that postinstall run); the platform package's own copy is used if it is there.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

export type BunBinary = { available: true; path: string; version: string } | { available: false; reason: string };

let found: BunBinary | undefined;

/** The runnable bun binary, or why there is none (checked once per run by asking it for its version). */
export function bunBinary(): BunBinary {
  found ??= locate();
  return found;
}

function locate(): BunBinary {
  const candidates = [
    join(ROOT, 'node_modules', '@oven', `bun-${process.platform}-${process.arch}`, 'bin', 'bun'),
    join(ROOT, 'node_modules', 'bun', 'bin', 'bun.exe'),
  ].filter((path) => existsSync(path));
  const tried: string[] = [];
  for (const path of candidates) {
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
      return { available: true, path, version };
    } catch (err) {
      tried.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return {
    available: false,
    reason:
      candidates.length === 0
        ? 'the bun npm package is not installed (npm install)'
        : `no runnable bun binary (its postinstall links it in; package.json allowScripts approves it): ${tried.join('; ')}`,
  };
}
