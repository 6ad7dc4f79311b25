// A chaos run kills, restarts and wipes engines, so it never runs on the shared ones (.engines/ on the default ports,
// which other test runs use): it gets an engines home and ports of its own. Set before infra/ is first imported,
// since infra/engine-config.ts reads them once. Importing nothing of infra/ here is the point of this file.
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The chaos engines: under .engines/ (gitignored), on the default ports + 1000; the cluster on 28400. */
export const CHAOS_ENV: Record<string, string> = {
  IM_ENGINES_HOME: join(ROOT, '.engines', 'chaos'),
  IM_KAFKA_PORT: '20092',
  IM_KAFKA_CONTROLLER_PORT: '20093',
  IM_CASSANDRA_PORT: '20042',
  IM_CASSANDRA_STORAGE_PORT: '18000',
  IM_ES_PORT: '20200',
  IM_ES_TRANSPORT_PORT: '20300',
  IM_REDIS_PORT: '17379',
  IM_TEST_CLUSTER_BASE_PORT: '28400',
};

/**
 * Puts the chaos engines' variables into process.env, over any already set (a shell's IM_KAFKA_PORT is for the shared
 * engines), and links the shared jar cache into the chaos home, so no engine is downloaded twice.
 */
export function isolateEngines(env: NodeJS.ProcessEnv = process.env): void {
  const home = resolve(CHAOS_ENV.IM_ENGINES_HOME!);
  // The shared engines' home, where their jars are: IM_ENGINES_HOME as set for them (a CI may move it), or .engines.
  const given = env.IM_ENGINES_HOME ? resolve(env.IM_ENGINES_HOME) : undefined;
  const shared = join(given && given !== home ? given : join(ROOT, '.engines'), 'cache');
  Object.assign(env, CHAOS_ENV);
  mkdirSync(home, { recursive: true });
  mkdirSync(shared, { recursive: true });
  if (!existsSync(join(home, 'cache'))) symlinkSync(shared, join(home, 'cache'));
}
