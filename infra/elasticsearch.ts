// Elasticsearch 7.17 as a single node: the jars of infra/elasticsearch/pom.xml plus the small
// EsLauncher.java next to it, compiled with the local javac into the jar cache at `up` time.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@elastic/elasticsearch';
import { HOST, endpoints, infraDir, paths, ports } from './engine-config.ts';
import type { Engine, LaunchSpec, Progress } from './engine-types.ts';
import { commonJvmFlags, javaMajorVersion, javaTool } from './jvm.ts';
import { fetchJars, pomEngineVersion } from './maven-fetch.ts';

const esDir = join(infraDir, 'elasticsearch');
const pomFile = join(esDir, 'pom.xml');
const launcherSource = join(esDir, 'EsLauncher.java');
const version = pomEngineVersion(pomFile);

/** JVM system options an Elasticsearch 7.17 distribution would pass (its SystemJvmOptions), minus the GC choice. */
const ES_SYSTEM_FLAGS = [
  '-Xss1m',
  '-Djna.nosys=true',
  '-XX:-OmitStackTraceInFastThrow',
  '-XX:+ShowCodeDetailsInExceptionMessages',
  '-Des.networkaddress.cache.ttl=60',
  '-Des.networkaddress.cache.negative.ttl=10',
  '-Dio.netty.noUnsafe=true',
  '-Dio.netty.noKeySetOptimization=true',
  '-Dio.netty.recycler.maxCapacityPerThread=0',
  '-Dio.netty.allocator.numDirectArenas=0',
  '-Dlog4j.shutdownHookEnabled=false',
  '-Dlog4j2.disable.jmx=true',
  '-Dlog4j2.formatMsgNoLookups=true',
  '-Djava.locale.providers=SPI,COMPAT',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  // Reported in GET / as build_flavor/build_type; the v7 client's product check accepts "default".
  '-Des.distribution.flavor=default',
  '-Des.distribution.type=tar',
];

/** Compiles EsLauncher.java into <cache>/launcher unless the compiled copy matches the source. */
async function compileLauncher(cacheDir: string, lib: string, onProgress: Progress): Promise<string> {
  const outDir = join(cacheDir, 'launcher');
  const stamp = join(outDir, '.source-sha256');
  const hash = createHash('sha256').update(readFileSync(launcherSource)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return outDir;
  onProgress('[elasticsearch] compiling infra/elasticsearch/EsLauncher.java');
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await promisify(execFile)(javaTool('javac'), ['-nowarn', '-d', tmp, '-cp', `${lib}/*`, launcherSource]);
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    const hint = e.code === 'ENOENT' ? ' (javac not found: install a JDK, e.g. openjdk-17-jdk-headless)' : '';
    throw new Error(`[elasticsearch] compiling EsLauncher failed${hint}: ${e.message}\n${e.stderr ?? ''}`, {
      cause: err,
    });
  }
  writeFileSync(join(tmp, '.source-sha256'), `${hash}\n`);
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
  return outDir;
}

async function prepare(onProgress: Progress): Promise<LaunchSpec> {
  javaMajorVersion();
  const cacheDir = paths.cache('elasticsearch', version);
  const lib = await fetchJars({
    engine: 'elasticsearch',
    pomFile,
    cacheDir,
    logFile: paths.fetchLog('elasticsearch'),
    expectJar: `elasticsearch-${version}.jar`,
    onProgress,
  });
  const launcher = await compileLauncher(cacheDir, lib, onProgress);
  const conf = paths.conf('elasticsearch');
  const home = paths.data('elasticsearch');
  mkdirSync(conf, { recursive: true });
  mkdirSync(home, { recursive: true });
  copyFileSync(join(esDir, 'log4j2.properties'), join(conf, 'log4j2.properties'));
  const args = [
    ...commonJvmFlags('elasticsearch', '512m'),
    ...ES_SYSTEM_FLAGS,
    '-cp',
    `${lib}/*:${launcher}`,
    'EsLauncher',
    home,
    conf,
    String(ports.elasticsearch),
    String(ports.elasticsearchTransport),
  ];
  return { command: javaTool('java'), args, cwd: home };
}

function client(): Client {
  return new Client({ node: endpoints.elasticsearch.node, requestTimeout: 5000, maxRetries: 0 });
}

async function probe(): Promise<boolean> {
  const es = client();
  try {
    // info() runs the v7 client's product check (x-elastic-product header) before the request itself.
    const info = await es.info();
    if (info.statusCode !== 200) return false;
    const health = await es.cluster.health({ wait_for_status: 'yellow', timeout: '1s' });
    return health.statusCode === 200 && !health.body.timed_out;
  } finally {
    await es.close();
  }
}

/**
 * One node cannot hold replicas, so the default of 1 replica would leave every index yellow.
 * A lowest-priority legacy template makes new indices default to 0 replicas (an index's own settings,
 * or a composable index template matching it, still win).
 */
async function afterReady(): Promise<void> {
  const es = client();
  try {
    await es.indices.putTemplate({
      name: 'im-local-single-node',
      body: { index_patterns: ['*'], order: -1, settings: { number_of_replicas: 0 } },
    });
  } finally {
    await es.close();
  }
}

export const elasticsearch: Engine = {
  name: 'elasticsearch',
  marker: '-Dim.engine=elasticsearch',
  ports: [ports.elasticsearch, ports.elasticsearchTransport],
  readiness: `Elasticsearch (client info + cluster health) on ${HOST}:${ports.elasticsearch}`,
  prepare,
  probe,
  afterReady,
  stopGraceMs: 30_000,
  version: () => `Elasticsearch ${version}`,
};
