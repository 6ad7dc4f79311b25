// Each scenario once at a tiny size, to prove the harness works end to end (servers, client processes, result
// files, charts). Benchmarks are not timed assertions: this checks that the figures are there and are numbers.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runScenarios, STANDARD_SET, type Ran } from './run.ts';

const out = mkdtempSync(join(tmpdir(), 'im-bench-test-'));
const lines: string[] = [];
let ran: Ran[] = [];

function finiteNumbers(value: unknown, path: string, found: string[] = []): string[] {
  if (typeof value === 'number') {
    assert.ok(Number.isFinite(value), `${path} is ${value}`);
    found.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => finiteNumbers(v, `${path}[${i}]`, found));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) finiteNumbers(v, `${path}.${k}`, found);
  }
  return found;
}

function get(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

describe('bench at tiny size', () => {
  after(() => {
    if (process.env.BENCH_TEST_VERBOSE) process.stdout.write(lines.join('\n') + '\n');
  });

  it('runs the standard set and writes a result file per scenario', { timeout: 600_000 }, async () => {
    ran = await runScenarios(STANDARD_SET, {
      size: 'tiny',
      out,
      flags: {},
      command: 'node --test bench/bench.test.ts',
      write: (line) => lines.push(line),
    });
    assert.deepEqual(
      ran.map((r) => r.scenario),
      STANDARD_SET,
    );
    for (const r of ran) {
      assert.ok(existsSync(r.json), `${r.json} written`);
      const result = JSON.parse(readFileSync(r.json, 'utf8')) as Record<string, unknown>;
      for (const key of ['machine', 'mode', 'load', 'figures', 'baselines', 'targets', 'processLimit', 'placement'])
        assert.ok(key in result, `${r.scenario}: ${key} recorded`);
      assert.equal(get(result, 'machine.cores'), (result.machine as { cores: number }).cores);
      assert.ok(typeof get(result, 'machine.node') === 'string');
      assert.ok(typeof get(result, 'machine.memoryGiB') === 'number');
      // Idle, fanout and latency measure Bun's server; every other scenario that compares servers says why it has no Bun
      // counterpart (ceilings measures building blocks only).
      const withBun = ['idle', 'fanout', 'latency'].includes(r.scenario);
      if (r.scenario !== 'ceilings') assert.equal(get(result, 'baselines.bun.available'), withBun, r.scenario);
      finiteNumbers(result.figures, `${r.scenario}.figures`);
      assert.ok(r.chart && existsSync(r.chart), `${r.scenario}: chart written`);
      assert.match(readFileSync(r.chart, 'utf8'), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
  });

  it('has the expected figures in each result', () => {
    const fig = (name: string, path: string) => {
      const r = ran.find((x) => x.scenario === name);
      assert.ok(r, `${name} ran`);
      const v = get(r.result.figures, path);
      assert.ok(typeof v === 'number' && Number.isFinite(v), `${name}: figures.${path} = ${String(v)}`);
      return v;
    };
    assert.ok(fig('idle', 'rssPerConnB') !== undefined);
    fig('idle', 'heapPerConnB');
    fig('idle', 'connectPerSec');
    assert.ok(fig('idle', 'hundredThousand.gatewayProcesses') >= 1);
    assert.ok(fig('idle', 'nodeSocketFloor.steps.0.connections') > 0, 'the Node socket floor measured');
    assert.ok(fig('idle', 'ping.gateway.p50') > 0 && fig('idle', 'ping.bareWs.p50') > 0, 'pings taken in turns');
    assert.ok(fig('fanout', 'ratioToBareWs') > 0);
    // The Bun ceiling runs where its binary does (package.json allowScripts lets bun's postinstall link it in).
    assert.ok(fig('fanout', 'ratioToBun') > 0, 'fan-out measured against Bun');
    assert.ok(fig('idle', 'bun.steps.0.connections') > 0, 'Bun idle memory measured');
    fig('fanout', 'byBurst.0.deliveredPerSec.gateway');
    fig('fanout', 'byBurst.0.deliveredPerSec.bare ws');
    for (const mode of ['embedded', 'cluster', 'bare ws', 'bun']) {
      const p99 = fig('latency', `steps.${mode}.0.p99`);
      assert.ok(p99 > 0, `${mode} latency measured`);
      fig('latency', `steps.${mode}.0.p50`);
      fig('latency', `steps.${mode}.0.max`);
    }
    fig('latency', 'steps.cluster.0.cpuMsPerMessage.logic');
    fig('latency', 'steps.cluster.0.cpuMsPerMessage.cassandra');
    const ceilings = get(ran.find((x) => x.scenario === 'ceilings')!.result.figures, 'measurements') as {
      block: string;
      perSec: number;
      engineCpuMs?: number;
    }[];
    for (const block of ['gRPC call on the call stream', 'gRPC unary', 'bare node:http2', 'Cassandra row write']) {
      const measured = ceilings.find((m) => m.block.startsWith(block));
      assert.ok(measured && measured.perSec > 0, `ceilings: ${block} measured`);
      if (block.startsWith('Cassandra')) assert.ok((measured.engineCpuMs ?? -1) >= 0, 'Cassandra CPU read');
    }
    assert.ok(fig('ceilings', 'callStreamOverUnaryAt64') > 0);
    fig('sync', 'getDiff.embedded.byLimit.limit100.perPage.p99');
    fig('sync', 'getDiff.embedded.byLimit.limit100.wholeBacklog.p50');
    assert.equal(get(ran.find((x) => x.scenario === 'sync')!.result.figures, 'storm.embedded.allWhole'), true);
    fig('sync', 'storm.embedded.allWholeSec');
    fig('sync', 'storm.bare ws.allWholeSec');
    const notices = ran.find((x) => x.scenario === 'notices')!.result.figures;
    assert.equal(get(notices, 'broadcast.complete'), true, 'every online device got every broadcast');
    assert.ok(fig('notices', 'broadcast.worst.p99FromRequestMs') > 0);
    fig('notices', 'broadcast.broadcasts.0.fromAnswer.p99');
    // A broadcast is one row in the system timeline whatever the audience: exact, whatever the timing.
    assert.equal(fig('notices', 'broadcast.worst.storedPerBroadcast'), 1);
    assert.equal(get(notices, 'broadcast.offlineFirstSync.everyBroadcastOnce'), true, 'offline users read them');
    assert.equal(fig('notices', 'broadcast.offlineFirstSync.seqsPerBroadcast'), 1);
    fig('notices', 'broadcast.offlineFirstSync.firstPageMs.p50');
    for (const run of ['baseline', 'duringMulticast']) {
      assert.equal(
        fig('notices', `priorityLane.${run}.received`),
        fig('notices', `priorityLane.${run}.unicasts`),
        `${run}: every unicast received`,
      );
      fig('notices', `priorityLane.${run}.fromRequest.p99`);
    }
    assert.equal(fig('notices', 'priorityLane.multicast.rows'), fig('notices', 'priorityLane.multicast.users'));
    assert.ok(fig('notices', 'throughput.0.acceptedPerSec') > 0, 'notice API throughput measured');
    fig('notices', 'throughput.0.requestMs.p99');
    fig('notices', 'throughput.0.serverCpuMsPerNotice');
    for (const platform of ['apns', 'fcm']) {
      assert.ok(fig('push', `senders.${platform}.0.acceptedPerSec`) > 0, `${platform} sender throughput measured`);
      fig('push', `senders.${platform}.0.latencyMs.p99`);
      fig('push', `senders.${platform}.0.senderCpuMsPerPush`);
      fig('push', `senders.${platform}.0.fakeCpuMsPerPush`);
    }
    const push = ran.find((x) => x.scenario === 'push')!.result.figures;
    // Coalescing: exactly one alert per device for a notice to everyone, whatever the timing.
    assert.equal(get(push, 'broadcast.oneAlertEach'), true, 'one alert per seeded device');
    assert.equal(fig('push', 'broadcast.pushesAtFake'), fig('push', 'broadcast.devices'));
    assert.ok(fig('push', 'broadcast.lastPushMs') > 0);
    assert.ok(fig('push', 'storeToProvider.steps.0.matched') > 0, 'store-to-provider receipts matched');
    fig('push', 'storeToProvider.steps.0.fromSendMs.p99');
    // Search: both adapters' indexing rate against their engine alone, query latency, and freshness.
    for (const adapter of ['elasticsearch', 'embedded']) {
      assert.ok(fig('search', `${adapter}.indexing.perSec`) > 0, `${adapter}: indexing through apply() measured`);
      assert.ok(fig('search', `${adapter}.ceiling.perSec`) > 0, `${adapter}: the engine alone measured`);
      fig('search', `${adapter}.indexing.benchCpuUsPerMsg`);
      assert.ok(fig('search', `${adapter}.queries.alone.latencyMs.p99`) > 0, `${adapter}: queries measured`);
      fig('search', `${adapter}.queries.raw.latencyMs.p99`);
      // Every query is for words of one of the user's own messages: each finds something.
      assert.equal(
        fig('search', `${adapter}.queries.alone.withHits`),
        fig('search', `${adapter}.queries.alone.queries`),
        `${adapter}: every query found its user's messages`,
      );
    }
    fig('search', 'elasticsearch.indexing.esCpuUsPerMsg');
    fig('search', 'elasticsearch.applyToSearchableMs.p99');
    const freshness = get(ran.find((x) => x.scenario === 'search')!.result.figures, 'embedded.freshness');
    assert.ok(fig('search', 'embedded.freshness.sent') > 0, 'freshness: messages sent');
    assert.equal(get(freshness, 'found'), get(freshness, 'sent'), 'freshness: every message found');
    fig('search', 'embedded.freshness.ackToSearchableMs.p99');
    const inCluster = get(ran.find((x) => x.scenario === 'search')!.result.figures, 'cluster.freshness');
    assert.equal(get(inCluster, 'found'), get(inCluster, 'sent'), 'cluster freshness: every message found');
    fig('search', 'cluster.freshness.ackToSearchableMs.p99');
    // E2E: crypto per case and per recipient device; the encrypted send beside plaintext, nothing lost.
    for (const i of [0, 1, 2, 3]) {
      assert.equal(fig('e2e', `crypto.oneToOne.${i}.recipientDevices`), 2 ** i, `1:1 with ${2 ** i} devices`);
      assert.ok(fig('e2e', `crypto.oneToOne.${i}.sealUs`) > 0 && fig('e2e', `crypto.oneToOne.${i}.openUs`) > 0);
      assert.ok(fig('e2e', `crypto.oneToOne.${i}.envelopeBytes`) > 0);
    }
    for (const i of [0, 1]) assert.ok(fig('e2e', `crypto.groups.${i}.openUs`) > 0, 'group opens measured');
    assert.ok(fig('e2e', 'crypto.perRecipientDevice.totalUs') > 0);
    assert.ok(fig('e2e', 'crypto.setup.firstSealUs') > 0 && fig('e2e', 'crypto.setup.firstOpenUs') > 0);
    fig('e2e', 'crypto.turns.openUs');
    for (const m of ['plaintext', 'encrypted']) {
      assert.ok(fig('e2e', `latency.embedded.${m}.delivered`) > 0, `${m} sends delivered`);
      assert.equal(fig('e2e', `latency.embedded.${m}.lost`), 0, `${m}: nothing lost`);
      assert.equal(fig('e2e', `latency.embedded.${m}.refused`), 0, `${m}: nothing refused`);
      assert.ok(fig('e2e', `latency.embedded.${m}.latencyMs.p99`) > 0);
      assert.ok(fig('e2e', `latency.embedded.${m}.clientCpuUsPerMessage`) > 0);
    }
    fig('e2e', 'latency.embedded.added.p99Ms');
    for (const mode of ['embedded', 'cluster']) {
      assert.equal(get(ran.find((x) => x.scenario === 'group')!.result.figures, `${mode}.complete`), true);
      assert.ok(fig('group', `${mode}.lastMember.p50`) > 0, `${mode}: time to the last member measured`);
      // One room frame per gateway node per message: the count is exact, whatever the timing.
      assert.equal(fig('group', `${mode}.gatewayCallsPerMessage`), fig('group', `${mode}.gateways`));
    }
  });
});
