// Redis from Debian's redis-server package (installed with apt-get when missing and we are root),
// run in the foreground under our supervision with persistence off.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { HOST, enginesHome, paths, ports } from './engine-config.ts';
import type { Engine, LaunchSpec, Progress } from './engine-types.ts';

let detectedVersion: string | undefined;

function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  return dirs.map((d) => join(d, 'redis-server')).find((p) => existsSync(p));
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

async function installRedis(onProgress: Progress): Promise<string> {
  const logFile = join(enginesHome, 'logs', 'redis-install.log');
  mkdirSync(dirname(logFile), { recursive: true });
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (!isRoot || !hasApt) {
    throw new Error(
      `[redis] redis-server is not installed and cannot be installed automatically (${
        hasApt ? 'not running as root' : 'no apt-get'
      }). Install it yourself, e.g. \`sudo apt-get install -y redis-server\`.`,
    );
  }
  const show = (line: string) => {
    if (/^(Setting up|Unpacking|E:)/.test(line)) onProgress(`[redis]   ${line}`);
  };
  const install = ['install', '-y', '-q', '--no-install-recommends', 'redis-server'];
  onProgress(`[redis] redis-server not found: running apt-get ${install.join(' ')} (log: ${logFile})`);
  let code = await runLogged('apt-get', install, logFile, show);
  if (code !== 0) {
    // Fresh machines have no package lists, and old lists point at superseded versions.
    onProgress('[redis] install failed; running apt-get update and retrying');
    code = await runLogged('apt-get', ['update', '-q'], logFile, () => undefined);
    if (code !== 0) throw new Error(`[redis] apt-get update failed (exit ${code}); see ${logFile}`);
    code = await runLogged('apt-get', install, logFile, show);
  }
  const binary = findRedisServer();
  if (code !== 0 || !binary)
    throw new Error(`[redis] apt-get install redis-server failed (exit ${code}); see ${logFile}`);
  return binary;
}

function redisVersion(binary: string): string {
  const match = /v=(\S+)/.exec(spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '');
  return match?.[1] ? `Redis ${match[1]}` : 'Redis (unknown version)';
}

async function prepare(onProgress: Progress): Promise<LaunchSpec> {
  const binary = findRedisServer() ?? (await installRedis(onProgress));
  detectedVersion = redisVersion(binary);
  const data = paths.data('redis');
  mkdirSync(data, { recursive: true });
  // prettier-ignore
  const args = [
    '--bind', HOST,
    '--port', String(ports.redis),
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--dir', data,
  ];
  return { command: binary, args, cwd: data };
}

async function probe(): Promise<boolean> {
  const redis = new Redis({
    host: HOST,
    port: ports.redis,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // failures surface through the awaited calls below
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } finally {
    redis.disconnect();
  }
}

export const redis: Engine = {
  name: 'redis',
  // redis-server rewrites its process title to "<binary> <bind>:<port>"
  marker: `redis-server ${HOST}:${ports.redis}`,
  ports: [ports.redis],
  readiness: `Redis PING on ${HOST}:${ports.redis}`,
  prepare,
  probe,
  stopGraceMs: 10_000,
  version: () => {
    const binary = detectedVersion === undefined ? findRedisServer() : undefined;
    if (binary) detectedVersion = redisVersion(binary);
    return detectedVersion ?? 'Redis (not installed)';
  },
};
