// The contract each engine module (kafka.ts, cassandra.ts, elasticsearch.ts, redis.ts) fulfils.
import type { EngineName } from './engine-config.ts';

export type Progress = (line: string) => void;

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

export interface Engine {
  name: EngineName;
  /** Substring of /proc/<pid>/cmdline that identifies this engine's process (guards against recycled pids). */
  marker: string;
  /** Ports the engine binds; checked for clashes before starting. */
  ports: number[];
  /** What readiness means, for messages: e.g. "CQL on 127.0.0.1:19042". */
  readiness: string;
  /** Installs or downloads what is missing, writes config; returns how to start the process. */
  prepare(onProgress: Progress): Promise<LaunchSpec>;
  /** One readiness probe: true when the engine really answers. Throwing counts as not ready. */
  probe(): Promise<boolean>;
  /** Optional one-off setup after the first successful probe of a fresh start. */
  afterReady?(): Promise<void>;
  /** How long a graceful stop may take before SIGKILL. */
  stopGraceMs: number;
  /** Human-readable version once known (after prepare), for status output. */
  version(): string;
}
