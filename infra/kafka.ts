// Kafka 3.9 as a single KRaft node (broker + controller in one JVM), from the jars of infra/kafka/pom.xml.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { HOST, endpoints, infraDir, paths, ports } from './engine-config.ts';
import { portAcceptsConnections } from './engine-process.ts';
import type { Engine, LaunchSpec, Progress } from './engine-types.ts';
import { commonJvmFlags, javaMajorVersion, javaTool } from './jvm.ts';
import { fetchJars, pomEngineVersion } from './maven-fetch.ts';

const pomFile = join(infraDir, 'kafka', 'pom.xml');
const version = pomEngineVersion(pomFile);

/**
 * A KRaft cluster id: 16 random bytes in base64url, as Kafka's own Uuid makes them, and like Kafka's never one
 * starting with '-': StorageTool's argument parser reads `-t -Ncv…` as a missing value and an unknown option (a
 * clean-clone CI run failed on one in 64 starts).
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(logDir: string): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${HOST}:${ports.kafkaController}`,
    listeners: `PLAINTEXT://${HOST}:${ports.kafka},CONTROLLER://${HOST}:${ports.kafkaController}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${ports.kafka}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDir,
    // Topics come from the application's own definitions (see infra/kafka-topics.ts), never by accident.
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    'default.replication.factor': 1,
    // Single broker: internal topics must fit on one node or consumer groups never find a coordinator.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'log.segment.bytes': 16 * 1024 * 1024,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

async function prepare(onProgress: Progress): Promise<LaunchSpec> {
  javaMajorVersion();
  const lib = await fetchJars({
    engine: 'kafka',
    pomFile,
    cacheDir: paths.cache('kafka', version),
    logFile: paths.fetchLog('kafka'),
    expectJar: `kafka_2.13-${version}.jar`,
    onProgress,
  });
  const conf = paths.conf('kafka');
  const logDir = join(paths.data('kafka'), 'kraft');
  mkdirSync(conf, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const propsFile = join(conf, 'server.properties');
  writeFileSync(propsFile, serverProperties(logDir));
  const jvm = [
    ...commonJvmFlags('kafka', '512m'),
    `-Dlog4j.configuration=file:${join(infraDir, 'kafka', 'log4j.properties')}`,
    '-cp',
    `${lib}/*`,
  ];
  if (!existsSync(join(logDir, 'meta.properties'))) {
    onProgress('[kafka] formatting KRaft storage (first start)');
    const clusterId = newClusterId();
    const args = [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--ignore-formatted'];
    try {
      await promisify(execFile)(javaTool('java'), args, { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
      throw new Error(`[kafka] StorageTool format failed: ${e.message}\n${out}`, { cause: err });
    }
  }
  return { command: javaTool('java'), args: [...jvm, 'kafka.Kafka', propsFile], cwd: paths.data('kafka') };
}

async function probe(): Promise<boolean> {
  if (!(await portAcceptsConnections(HOST, ports.kafka))) return false;
  const admin = new Kafka({
    clientId: 'im-engines-probe',
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.listTopics();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } finally {
    await admin.disconnect();
  }
}

export const kafka: Engine = {
  name: 'kafka',
  marker: '-Dim.engine=kafka',
  ports: [ports.kafka, ports.kafkaController],
  readiness: `Kafka (kafkajs describeCluster) on ${HOST}:${ports.kafka}`,
  prepare,
  probe,
  stopGraceMs: 30_000,
  version: () => `Kafka ${version} (KRaft)`,
};
