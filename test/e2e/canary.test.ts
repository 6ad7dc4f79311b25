import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startEmbedded } from '../../app/embedded.ts';
import { loadConfig } from '../../lib/config.ts';
import type { CanaryLedger } from './canary.ts';
import { canarySuite, SEARCH_API } from './canary.suite.ts';
import { useTestDevKey } from './harness.ts';

const LOGS = 'log lines (trace level)';
const METRICS = '/metrics';
const DATA_RUNNING = 'data directory while running (database, WAL, shared memory)';
const DATA_STOPPED = 'data directory after close';

/** Every file under `dir`, raw bytes, one item each. */
function scanDirectory(ledger: CanaryLedger, place: string, dir: string): void {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    ledger.check(place, readFileSync(path), path);
  }
}

// The embedded server on a data directory, its services over loopback gRPC, logging everything (trace) to lines kept
// here: the SQLite file with its WAL and search index, every log line, /metrics.
canarySuite(
  'embedded, data directory, gRPC between services',
  async (settings) => {
    useTestDevKey();
    const dataDir = mkdtempSync(join(tmpdir(), 'im-canary-'));
    const lines: string[] = [];
    const log = pino({ level: 'trace', base: undefined }, { write: (line: string) => void lines.push(line) });
    const config = loadConfig({ port: 0, drainTimeoutMs: 500, dataDir, transport: 'grpc', ...settings });
    const server = await startEmbedded(config, log);
    const httpUrl = server.gateway.url.replace(/^ws/, 'http').replace(/\/v1\/ws$/, '');
    return Object.assign(server, {
      urlFor: () => server.gateway.url,
      roomCalls: () => Promise.resolve(0),
      gatewayCount: 1,
      scanRunning: async (ledger: CanaryLedger) => {
        ledger.check(METRICS, await (await fetch(`${httpUrl}/metrics`)).text(), `${httpUrl}/metrics`);
        scanDirectory(ledger, DATA_RUNNING, dataDir);
      },
      scanStopped: (ledger: CanaryLedger) => {
        for (const [i, line] of lines.entries()) ledger.check(LOGS, line, `log line ${i + 1}: ${line.slice(0, 200)}`);
        scanDirectory(ledger, DATA_STOPPED, dataDir);
        rmSync(dataDir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
  [DATA_RUNNING, DATA_STOPPED, SEARCH_API],
);
