// Redis from Debian's redis-server package (installed with apt-get when missing and we are root),
// run in the foreground under our supervision with persistence off.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { aptBinary, findBinary } from './apt.ts';
import { HOST, paths, ports } from './engine-config.ts';
import type { Engine, LaunchSpec, Progress } from './engine-types.ts';

let detectedVersion: string | undefined;

function redisVersion(binary: string): string {
  const match = /v=(\S+)/.exec(spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '');
  return match?.[1] ? `Redis ${match[1]}` : 'Redis (unknown version)';
}

async function prepare(onProgress: Progress): Promise<LaunchSpec> {
  const binary = await aptBinary({ label: 'redis', binary: 'redis-server', packages: ['redis-server'] }, onProgress);
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
    const binary = detectedVersion === undefined ? findBinary('redis-server') : undefined;
    if (binary) detectedVersion = redisVersion(binary);
    return detectedVersion ?? 'Redis (not installed)';
  },
};
