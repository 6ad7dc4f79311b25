// Cassandra 5.0 as a single node from the jars of infra/cassandra/pom.xml (no distribution tarball on Maven Central).
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cassandraDriver from 'cassandra-driver';
import { CASSANDRA_DC, HOST, endpoints, infraDir, paths, ports } from './engine-config.ts';
import { portAcceptsConnections } from './engine-process.ts';
import type { Engine, LaunchSpec, Progress } from './engine-types.ts';
import { commonJvmFlags, javaMajorVersion, javaTool } from './jvm.ts';
import { fetchJars, pomEngineVersion } from './maven-fetch.ts';

const pomFile = join(infraDir, 'cassandra', 'pom.xml');
const version = pomEngineVersion(pomFile);

/** Module-system openings Cassandra 5.0 needs on JDK 17 (from its conf/jvm17-server.options). */
const JDK17_FLAGS = [
  ...[
    'java.base/jdk.internal.misc',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi',
    'java.management/com.sun.jmx.remote.security',
    'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server',
    'java.sql/java.sql',
    'java.base/java.lang.ref',
    'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file',
    'jdk.attach/sun.tools.attach',
  ].map((p) => `--add-exports=${p}=ALL-UNNAMED`),
  ...[
    'java.base/java.lang.module',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal',
    'java.base/sun.nio.ch',
    'java.base/java.io',
    'java.base/java.lang.reflect',
    'jdk.compiler/com.sun.tools.javac',
    'java.base/java.lang',
    'java.base/java.util',
    'java.base/java.nio',
  ].map((p) => `--add-opens=${p}=ALL-UNNAMED`),
];

function cassandraYaml(dataDir: string): string {
  // Only keys that org.apache.cassandra.config.Config knows: the loader rejects unknown ones.
  return `cluster_name: 'im-local'
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
num_tokens: 1
initial_token: 0
listen_address: ${HOST}
rpc_address: ${HOST}
storage_port: ${ports.cassandraStorage}
native_transport_port: ${ports.cassandra}
start_native_transport: true
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${HOST}:${ports.cassandraStorage}"
data_file_directories: [ ${join(dataDir, 'data')} ]
commitlog_directory: ${join(dataDir, 'commitlog')}
saved_caches_directory: ${join(dataDir, 'saved_caches')}
hints_directory: ${join(dataDir, 'hints')}
cdc_raw_directory: ${join(dataDir, 'cdc_raw')}
cdc_enabled: false
# A write is acknowledged once its commit log entry is on disk. With periodic (every 10 s) a kill -9 lost the last
# acknowledged writes (a chaos run lost an acknowledged message; 4 and 12 rows in a probe), and one node has no
# replica to keep them (docs/decisions/0029).
commitlog_sync: batch
commitlog_segment_size: 8MiB
auto_snapshot: false
incremental_backups: false
# Memtable cells off the JVM heap: less for each young collection to copy; its pauses are in GetDiff's tail (decision 0015).
memtable_allocation_type: offheap_objects
disk_access_mode: standard
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
# The inbox writes unlogged batches spanning partitions, up to 64 rows and 40 KiB (docs/decisions/0012).
unlogged_batch_across_partitions_warn_threshold: 64
batch_size_warn_threshold: 40KiB
`;
}

async function prepare(onProgress: Progress): Promise<LaunchSpec> {
  const javaMajor = javaMajorVersion();
  if (javaMajor !== 17)
    onProgress(`[cassandra] warning: Cassandra 5.0 supports Java 11 and 17; found Java ${javaMajor}`);
  const lib = await fetchJars({
    engine: 'cassandra',
    pomFile,
    cacheDir: paths.cache('cassandra', version),
    logFile: paths.fetchLog('cassandra'),
    expectJar: `cassandra-all-${version}.jar`,
    onProgress,
  });
  const jamm = readdirSync(lib).find((f) => /^jamm-[\d.]+\.jar$/.test(f));
  if (!jamm) throw new Error(`[cassandra] no jamm jar in ${lib}`);
  const conf = paths.conf('cassandra');
  const data = paths.data('cassandra');
  mkdirSync(conf, { recursive: true });
  mkdirSync(join(data, 'logs'), { recursive: true });
  const yamlFile = join(conf, 'cassandra.yaml');
  writeFileSync(yamlFile, cassandraYaml(data));
  const args = [
    ...commonJvmFlags('cassandra', '768m'),
    '-Xss256k',
    `-javaagent:${join(lib, jamm)}`,
    '-Djdk.attach.allowAttachSelf=true',
    ...JDK17_FLAGS,
    '-Dio.netty.tryReflectionSetAccessible=true',
    '-Dcassandra-foreground=yes', // otherwise the daemon closes stdout/stderr, i.e. our log
    `-Dcassandra.config=file://${yamlFile}`,
    `-Dcassandra.storagedir=${data}`,
    `-Dcassandra.logdir=${join(data, 'logs')}`,
    `-Dlogback.configurationFile=${join(infraDir, 'cassandra', 'logback.xml')}`,
    '-Dcassandra.skip_wait_for_gossip_to_settle=0', // single node: nothing to settle
    '-Dcassandra.load_ring_state=false',
    '-cp',
    `${lib}/*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  return { command: javaTool('java'), args, cwd: data };
}

async function probe(): Promise<boolean> {
  if (!(await portAcceptsConnections(HOST, ports.cassandra))) return false;
  const client = new cassandraDriver.Client({
    contactPoints: endpoints.cassandra.contactPoints,
    localDataCenter: CASSANDRA_DC,
    socketOptions: { connectTimeout: 2000, readTimeout: 5000 },
  });
  try {
    const result = await client.execute('SELECT release_version FROM system.local');
    return typeof result.first()?.get('release_version') === 'string';
  } finally {
    await client.shutdown();
  }
}

export const cassandra: Engine = {
  name: 'cassandra',
  marker: '-Dim.engine=cassandra',
  ports: [ports.cassandra, ports.cassandraStorage],
  readiness: `CQL (SELECT release_version FROM system.local) on ${HOST}:${ports.cassandra}`,
  prepare,
  probe,
  stopGraceMs: 30_000,
  version: () => `Cassandra ${version}`,
};
