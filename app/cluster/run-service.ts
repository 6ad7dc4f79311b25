// One cluster service in its own process: `tsx app/cluster/run-service.ts <offline|sync|logic|push|gateway>`.
// Configured by IM_* variables (app/cluster.ts sets them); serves GET /healthz on IM_HEALTH_PORT.
import { loadConfig } from '../../lib/config.ts';
import { closeAll } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { CLUSTER_PROCESSES } from '../processes.ts';
import { serveHealth } from './health.ts';
import { SERVICES, startService, type ServiceName } from './services.ts';

async function main(): Promise<void> {
  const name = process.argv[2] as ServiceName;
  if (!SERVICES.includes(name)) throw new Error(`usage: run-service.ts <${SERVICES.join('|')}>`);
  const config = loadConfig();
  const log = createLogger().child({ svc: name, node: config.node });
  const service = await startService(name, config, log);
  const health = await serveHealth(name, config.internalHost, config.healthPort, service.ready);
  const { inProcess, calls } = CLUSTER_PROCESSES[name];
  log.info({ grpcPort: config.grpcPort, healthPort: config.healthPort, inProcess, calls }, 'service started');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    closeAll([...service.started, health]).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (process.env.IM_EXIT_WITH_PARENT === '1') {
    // The supervisor holds our stdin open; if it dies (even by kill -9), the pipe closes and we stop too.
    process.stdin.on('end', () => stop('parent gone'));
    process.stdin.resume();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`run-service: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
