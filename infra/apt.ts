// Debian packages the project needs on the machine (redis-server, chromium): found on the PATH, or installed with
// apt-get when missing and we are root. Anything else fails loudly with what to install.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { enginesHome } from './engine-config.ts';
import type { Progress } from './engine-types.ts';

export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

function runLogged(command: string, args: string[], logFile: string, onLine: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const forward = (line: string) => {
      log.write(`${line}\n`);
      onLine(line);
    };
    createInterface({ input: child.stdout }).on('line', forward);
    createInterface({ input: child.stderr }).on('line', forward);
    child.once('error', (err) => {
      log.end();
      reject(err);
    });
    child.once('close', (code) => {
      log.end();
      resolve(code ?? 1);
    });
  });
}

/** The path of `binary`, installing `packages` with apt-get first when it is missing. */
export async function aptBinary(
  what: { label: string; binary: string; packages: string[] },
  onProgress: Progress,
): Promise<string> {
  const found = findBinary(what.binary);
  if (found) return found;
  const { label, packages } = what;
  const logFile = join(enginesHome, 'logs', `${label}-install.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (!isRoot || !hasApt) {
    throw new Error(
      `[${label}] ${what.binary} is not installed and cannot be installed automatically (${
        hasApt ? 'not running as root' : 'no apt-get'
      }). Install it yourself, e.g. \`sudo apt-get install -y ${packages.join(' ')}\`.`,
    );
  }
  const show = (line: string) => {
    if (/^(Setting up|Unpacking|E:)/.test(line)) onProgress(`[${label}]   ${line}`);
  };
  const install = ['install', '-y', '-q', '--no-install-recommends', ...packages];
  onProgress(`[${label}] ${what.binary} not found: running apt-get ${install.join(' ')} (log: ${logFile})`);
  let code = await runLogged('apt-get', install, logFile, show);
  if (code !== 0) {
    // Fresh machines have no package lists, and old lists point at superseded versions.
    onProgress(`[${label}] install failed; running apt-get update and retrying`);
    code = await runLogged('apt-get', ['update', '-q'], logFile, () => undefined);
    if (code !== 0) throw new Error(`[${label}] apt-get update failed (exit ${code}); see ${logFile}`);
    code = await runLogged('apt-get', install, logFile, show);
  }
  const binary = findBinary(what.binary);
  if (code !== 0 || !binary)
    throw new Error(`[${label}] apt-get install ${packages.join(' ')} failed (exit ${code}); see ${logFile}`);
  return binary;
}
