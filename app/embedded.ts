import { pathToFileURL } from 'node:url';
import { MemoryBus } from '../lib/bus.memory.ts';
import { loadConfig, type Config } from '../lib/config.ts';
import { devSigningKey, loadOrCreateDevKey } from '../lib/dev-key.ts';
import { addApi, grpcClient, serveGrpc, type ApiOf, type EncodedApiOf } from '../lib/grpc.ts';
import { closeAll, type Closeable } from '../lib/lifecycle.ts';
import type { ServiceIdentity } from '../lib/service-identity.ts';
import { gatewayOptions, logicLimits, pushOptions } from './options.ts';
import { killAfter } from './fault-injection.ts';
import { embeddedOperatorToken } from './operator-token.ts';
import { embeddedStores } from './stores.ts';
import { embeddedMobile } from './mobile.ts';
import { Devices } from '../push/mobile/devices.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { tokenSigner } from '../lib/token.ts';
import { DEV_KEY, startRevocations, userAuth } from './user-auth.ts';
import { devSignInHandler } from './dev-sign-in.ts';
import { WEB_DIST } from './web-dist.ts';
import { topics } from '../lib/topics.ts';
import {
  GatewayServiceService,
  revocationsHttpHandler,
  startGateway,
  webAppHandler,
  type Gateway,
} from '../gateway/index.ts';
import { coalescedLogic } from '../logic/coalesced.ts';
import { LogicServiceService, NoticeServiceService, startLogic, startNotices } from '../logic/index.ts';
import { allGroupIdsOf } from '../logic/groups-of.ts';
import { OfflineServiceService } from '../offline/index.ts';
import { pushAdminHttpHandler, PushServiceService, startPush } from '../push/index.ts';
import { StaticGatewayDirectory } from '../push/gateway-directory.ts';
import { MemoryRouteTable } from '../push/route-table.memory.ts';
import { coalescedSync } from '../sync/coalesced.ts';
import { Sync, SyncServiceService } from '../sync/index.ts';
import {
  indexInboxWrites,
  reindex,
  ReindexJob,
  Search,
  searchAdminHttpHandler,
  SearchIndexer,
} from '../search/index.ts';

export interface Embedded extends Closeable {
  gateway: Gateway;
  config: Config;
  /** Where the data is kept (the data directory's path, or memory). */
  dataWhere: string;
  /** The operator credential of the notice API's app registry, and where it is kept. */
  operator: { token: string; where: string };
  /** Where the public keys of user tokens come from (the dev key unless IM_AUTH_JWKS_* say otherwise). */
  tokenKeys: string;
  /** Signs a token with the dev key (what `imctl token` prints; verified only when no key set is configured). */
  token(user: string, device: string, ttlSec?: number): string;
}

/**
 * Loopback gRPC (IM_TRANSPORT=grpc) is mTLS as in cluster mode, under a CA made for this process and never written:
 * one identity, since one process is every caller (decision 0028). The X.509 library is imported only then: it
 * takes a while.
 */
async function oneProcessIdentity(): Promise<ServiceIdentity> {
  const { newServiceCa } = await import('../lib/service-certs.ts');
  return (await newServiceCa('im embedded CA')).issue('embedded');
}

/** Every service in one process on the in-process adapters: the composition root of embedded mode. */
export async function startEmbedded(config: Config = loadConfig(), log: Logger = createLogger()): Promise<Embedded> {
  const auth = await userAuth(config, 'embedded', log);
  const signer = tokenSigner(devSigningKey(await loadOrCreateDevKey()), auth.policy);
  const verifyToken = auth.verify;
  const partitions = new Map<string, number>(Object.values(topics).map((t) => [t.name, t.partitions]));
  const bus = new MemoryBus({ partitionsOf: (t) => partitions.get(t) ?? 1 });
  const routes = new MemoryRouteTable();
  const gateways = new StaticGatewayDirectory();
  const started: Closeable[] = [bus];
  const identity = config.transport === 'grpc' ? await oneProcessIdentity() : undefined;
  /**
   * What a caller holds for a service: the object itself, or a gRPC client of it served on loopback (methods in
   * `encodedImpl` answer the client's `encoded` twin with bytes as they are).
   */
  const link = async <D extends object>(
    definition: D,
    impl: ApiOf<D>,
    encodedImpl: Partial<EncodedApiOf<D>> = {},
  ): Promise<ApiOf<D> & { encoded?: EncodedApiOf<D> }> => {
    if (!identity) return impl;
    const server = await serveGrpc((s) => addApi(s, definition, impl, encodedImpl), {
      identity,
      callers: (role) => role === identity.role,
    });
    const client = grpcClient(definition, server.address, { identity, serverRole: identity.role });
    started.push(server, client);
    return client;
  };
  try {
    const kept = embeddedStores(config);
    started.push(kept);
    const stores = kept.offline;
    const groupStore = kept.groups;
    // Indexed as stored, before any caller holds the offline service (decision 0031).
    if (kept.search) indexInboxWrites(stores, new SearchIndexer(kept.search), log.child({ svc: 'search' }));
    const search =
      kept.search &&
      new Search(
        kept.search,
        {
          groupsOf: (user) => allGroupIdsOf(groupStore, user),
          tagsOf: (user) => kept.notices.tags.tagsOf(user),
        },
        { perUserPerSecond: config.searchPerUserPerSecond },
      );
    // The operator's reindex rebuilds the index from the inbox store (`imctl search reindex`).
    const index = kept.search;
    const reindexJob =
      index &&
      new ReindexJob(
        (onProgress, signal) => reindex(stores.scanInbox(), index, { onProgress, signal }),
        log.child({ svc: 'search' }),
      );
    if (reindexJob) started.push(reindexJob);
    const offline = await link(OfflineServiceService, stores);
    // As in cluster mode, sync and logic use offline's stores in-process (decisions 0015, 0016); push calls it.
    const syncImpl = new Sync(stores, (user) => allGroupIdsOf(groupStore, user), {
      maxPageBytes: config.syncPageMaxBytes,
      tagsOf: (user) => kept.notices.tags.tagsOf(user),
    });
    const sync = await link(SyncServiceService, syncImpl, {
      getDiff: (r) => syncImpl.getDiffEncoded(r),
    });
    const mobile = embeddedMobile({
      config,
      ...kept.mobile,
      routes,
      offline: stores,
      badges: async (users) => (await syncImpl.getUnreadTotals({ users })).totals,
      audiences: { groups: groupStore, tags: kept.notices.tags },
      log: log.child({ svc: 'push' }),
    });
    started.push(mobile);
    const push = await startPush({
      bus,
      routes,
      gateways,
      offline,
      log: log.child({ svc: 'push' }),
      options: pushOptions(config),
      devices: new Devices(kept.mobile.tokens),
      mobile: (jobs) => mobile.queue.add(jobs),
      deadLetters: {
        store: kept.mobile.deadLetters,
        replay: (ids) => mobile.notifier.replay(ids),
      },
    });
    started.push(push);
    const operator = embeddedOperatorToken(config);
    const notices = startNotices({
      stores: kept.notices,
      offline: stores,
      push: push.api,
      rates: { kind: 'memory' },
      operatorToken: operator.token,
      log: log.child({ svc: 'notices' }),
      scheduler: { leaseMs: config.noticeLeaseMs },
      afterChunk: killAfter('IM_FAULT_KILL_AFTER_NOTICE_CHUNKS', log, 'a chunk of a notice'),
      ...(kept.durable ? { durable: kept.durable } : {}),
    });
    started.push(notices);
    const pushApi = await link(PushServiceService, push.api);
    const logic = await startLogic({
      bus,
      offline: stores,
      push: pushApi,
      groups: groupStore,
      outcomes: kept.outcomes,
      keys: kept.keys,
      durable: kept.durable,
      limits: logicLimits(config),
      coalesceCalls: config.transport !== 'direct',
      noticeRooms: (user) => notices.roomsOf(user),
      systemReads: notices.reads,
      setMute: (user, conversation, untilMs) => kept.mobile.mutes.set(user, conversation, untilMs),
      log: log.child({ svc: 'logic' }),
    });
    started.push(logic);
    const revocations = await startRevocations(config, kept.revocations, log);
    started.push(revocations);
    const gateway = await startGateway({
      bus,
      sync: config.transport === 'direct' ? sync : coalescedSync(sync),
      syncEncoded: sync.encoded ?? {
        getDiff: (r) => syncImpl.getDiffEncoded(r),
      },
      logic: config.transport === 'direct' ? logic.api : coalescedLogic(await link(LogicServiceService, logic.api)),
      push: pushApi,
      routes,
      verifyToken: revocations.guard(verifyToken),
      revocations,
      ...(search ? { search } : {}),
      log: log.child({ svc: 'gateway' }),
      options: gatewayOptions(config, { devOrigins: true }),
      // The notice API on the same port: one process, one address (cluster mode serves it from logic).
      httpApis: [
        notices.httpOver(await link(NoticeServiceService, notices.api)),
        pushAdminHttpHandler(pushApi, operator.token),
        revocationsHttpHandler(revocations, kept.revocations, operator.token),
        ...(reindexJob ? [searchAdminHttpHandler(reindexJob, operator.token)] : []),
        ...(auth.keys === DEV_KEY ? [devSignInHandler((u, d, ttl) => signer.sign(u, d, ttl), config.tokenTtlSec)] : []),
        webAppHandler(WEB_DIST),
      ],
    });
    gateways.set(config.node, await link(GatewayServiceService, gateway.api));
    started.push(gateway);
    return {
      gateway,
      config,
      dataWhere: kept.where,
      tokenKeys: auth.keys,
      operator,
      token: (user, device, ttlSec = config.tokenTtlSec) => signer.sign(user, device, ttlSec),
      close: () => closeAll(started),
    };
  } catch (err) {
    await closeAll(started);
    throw err;
  }
}

async function main(): Promise<void> {
  const log = createLogger();
  const im = await startEmbedded(loadConfig(), log);
  const server = `--server ${im.gateway.url}`;
  const defaultServer = im.config.port === 7400 && im.config.host === '127.0.0.1';
  process.stdout.write(
    [
      '',
      `IM backend (embedded) on ${im.gateway.url}  WebSocket ${im.gateway.url}/v1/ws  HTTP sync POST http://${im.config.host}:${im.gateway.port}/v1/sync`,
      `data: ${im.dataWhere} (IM_DATA_DIR; copy it while stopped to back it up)`,
      `user tokens verified with: ${im.tokenKeys}`,
      `notice API http://${im.config.host}:${im.gateway.port}/v1/notices; operator token: ${im.operator.where}`,
      `In a browser: chat http://${im.config.host}:${im.gateway.port}/ (a tab per device), console http://${im.config.host}:${im.gateway.port}/admin (operator token)`,
      'Or from another terminal:',
      `  npx imctl listen --user bob --device phone ${defaultServer ? '' : server}`,
      `  npx imctl send --user alice --device laptop --to bob --text "hello bob" ${defaultServer ? '' : server}`,
      'Ctrl-C stops it (clients are asked to reconnect, then it drains).',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    im.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`embedded: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
