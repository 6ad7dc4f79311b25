import { Redis } from 'ioredis';
import { KafkaBus } from '../../lib/bus.kafka.ts';
import { connectCassandra } from '../../lib/cassandra.ts';
import type { Config } from '../../lib/config.ts';
import { addApi, grpcClient, serveGrpc } from '../../lib/grpc.ts';
import type { Closeable } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/logger.ts';
import { GatewayServiceService, revocationsHttpHandler, startGateway, webAppHandler } from '../../gateway/index.ts';
import { WEB_DIST } from '../web-dist.ts';
import {
  LogicServiceService,
  NoticeServiceService,
  startLogic,
  startNotices,
  type RunningNotices,
} from '../../logic/index.ts';
import { coalescedLogic } from '../../logic/coalesced.ts';
import { OfflineServiceService } from '../../offline/index.ts';
import { allGroupIdsOf } from '../../logic/groups-of.ts';
import { Push, pushAdminHttpHandler, PushServiceService, startPush } from '../../push/index.ts';
import { RegistryGatewayDirectory } from '../../push/gateway-directory.ts';
import { RedisGatewayRegistry } from '../../push/gateway-registry.redis.ts';
import { RedisRouteTable } from '../../push/route-table.redis.ts';
import { coalescedSync } from '../../sync/coalesced.ts';
import { Sync, SyncServiceService } from '../../sync/index.ts';
import { gatewayOptions, logicLimits, pushOptions } from '../options.ts';
import { CLUSTER_PROCESSES, type ClusterProcess } from '../processes.ts';
import { engineStores } from '../stores.ts';
import { clusterOperatorToken } from '../operator-token.ts';
import { serveHttp } from './http.ts';
import { startNotifier } from '../mobile.ts';
import { Devices } from '../../push/mobile/devices.ts';
import { PushJob } from '../../proto/gen/im/v1/bus.pb.ts';
import { consume } from '../../lib/bus-consumer.ts';
import { topics } from '../../lib/topics.ts';
import type { Bus } from '../../lib/bus.ts';
import type { DeadLetterStore } from '../../push/mobile/dead-letter-store.ts';
import { revocationWriter, startRevocations, userAuth } from '../user-auth.ts';
import { CassandraRevocationStore } from '../../gateway/revocations/revocation-store.cassandra.ts';
import { killAfter } from '../fault-injection.ts';
import {
  publishInboxWrites,
  reindexOverRpc,
  searchAdminHttpHandler,
  searchOverRpc,
  SearchServiceService,
  type SearchRecord,
} from '../../search/index.ts';
import { startSearchProcess } from './search.ts';
import { loadServiceIdentity } from '../../lib/service-identity.ts';
import { clusterCallers, roleServing } from './callers.ts';

export const SERVICES = Object.keys(CLUSTER_PROCESSES) as ClusterProcess[];
export type ServiceName = ClusterProcess;

/** A started cluster service: what to close, in reverse order, and a readiness check for /healthz. */
export interface RunningService {
  started: Closeable[];
  ready: () => Promise<void>;
}

/**
 * The composition root of each cluster service, built to its description in app/processes.ts: the stores of the
 * engines (app/stores.ts), gRPC to the services it calls, one process each. Engine clients are created here and
 * closed with the service.
 */
export async function startService(name: ServiceName, config: Config, log: Logger): Promise<RunningService> {
  const started: Closeable[] = [];
  // mTLS between services, always (decision 0028): the launcher gives each process its role's certificate.
  const identity = loadServiceIdentity(config, name);
  /** Auto-pipelined unless a caller's library cannot take it (rate-limiter-flexible's own commands). */
  const redis = (enableAutoPipelining = true) => {
    const client = new Redis(config.redisUrl, {
      maxRetriesPerRequest: 3,
      enableAutoPipelining,
    });
    client.on('error', (err) => log.warn({ err: err.message }, 'redis'));
    started.push({ close: () => client.quit().then(() => undefined) });
    return client;
  };
  const cassandra = async () => {
    const client = await connectCassandra(
      {
        contactPoints: config.cassandraContactPoints,
        localDataCenter: config.cassandraDataCenter,
      },
      { keyspace: config.cassandraKeyspace },
    );
    started.push({ close: () => client.shutdown() });
    return client;
  };
  const bus = () => {
    const kafka = new KafkaBus({
      brokers: config.kafkaBrokers,
      clientId: `${name}-${config.node}`,
      log,
    });
    started.push(kafka);
    return kafka;
  };
  const client = <D extends object>(definition: D, address: string) => {
    const c = grpcClient(definition, address, { identity, serverRole: roleServing(definition) });
    started.push(c);
    return c;
  };
  /** Where a user's devices are connected, and a client per gateway node. */
  const gatewaysOver = (r: Redis) => {
    const registry = new RedisGatewayRegistry(r, {
      prefix: config.redisPrefix,
    });
    const gateways = new RegistryGatewayDirectory(registry, (address) =>
      grpcClient(GatewayServiceService, address, { identity, serverRole: 'gateway' }),
    );
    started.push(gateways);
    return {
      routes: new RedisRouteTable(r, { prefix: config.redisPrefix }),
      gateways,
    };
  };
  const grpcServing = { identity, callers: clusterCallers, host: config.internalHost, port: config.grpcPort };
  const serve = async (register: Parameters<typeof serveGrpc>[0]) => {
    started.push(await serveGrpc(register, grpcServing));
  };

  switch (name) {
    case 'offline': {
      const { offline } = engineStores(config, redis(), await cassandra());
      await serve((s) => addApi(s, OfflineServiceService, offline));
      return { started, ready: async () => void (await offline.getEpoch()) };
    }
    case 'sync': {
      // Sync reads offline's stores itself rather than through the offline service (decision 0015): a GetDiff
      // page is one gRPC hop from the gateway, not two, and its messages are not decoded and encoded twice more.
      const { offline, groups, notices } = engineStores(config, redis(), await cassandra());
      const sync = new Sync(offline, (user) => allGroupIdsOf(groups, user), {
        maxPageBytes: config.syncPageMaxBytes,
        tagsOf: (user) => notices.tags.tagsOf(user),
      });
      await serve((s) =>
        addApi(s, SyncServiceService, sync, {
          getDiff: (r) => sync.getDiffEncoded(r),
        }),
      );
      return { started, ready: async () => void (await offline.getEpoch()) };
    }
    case 'logic': {
      const r = redis();
      const {
        offline,
        groups,
        outcomes,
        keys,
        notices: noticeStores,
        mobile: mobileStores,
        revocations: revocationStore,
      } = engineStores(config, r, await cassandra());
      const kafka = bus();
      // What is stored and changes the search index goes to the search process on search_input (decision 0031).
      publishInboxWrites(offline, (records) => publishSearchInput(kafka, records));
      // Push jobs go through Kafka to the push process (push_jobs, keyed by user): a crash loses none.
      const push = new Push({
        ...gatewaysOver(r),
        offline,
        log,
        options: pushOptions(config),
        mobile: (jobs) => publishPushJobs(kafka, jobs),
      });
      const notices: RunningNotices = startNotices({
        stores: noticeStores,
        offline,
        push,
        rates: {
          kind: 'redis',
          client: redis(false),
          prefix: config.redisPrefix,
        },
        operatorToken: clusterOperatorToken(config),
        log: log.child({ svc: 'notices' }),
        scheduler: { leaseMs: config.noticeLeaseMs },
        afterChunk: killAfter('IM_FAULT_KILL_AFTER_NOTICE_CHUNKS', log, 'a chunk of a notice'),
      });
      started.push(notices);
      const logic = await startLogic({
        bus: kafka,
        // A send stays in this process from the Kafka record to the gateways' Deliver calls (decision 0016):
        // logic allocates, stores and delivers through offline's and push's code, which were a gRPC hop each.
        offline,
        push,
        groups,
        outcomes,
        keys,
        limits: logicLimits(config),
        coalesceCalls: true,
        noticeRooms: (user) => notices.roomsOf(user),
        systemReads: notices.reads,
        setMute: (user, conversation, untilMs) => mobileStores.mutes.set(user, conversation, untilMs),
        log,
        afterStored: killAfter('IM_FAULT_KILL_AFTER_STORED', log, 'storing, before the offset commit'),
      });
      started.push(logic);
      await serve((s) => {
        addApi(s, LogicServiceService, logic.api);
        addApi(s, NoticeServiceService, notices.api);
      });
      // The notice API has a port of its own: business systems and operators reach it, never the public (decision 0024).
      const revocations = revocationWriter(config, revocationStore, log);
      const operatorApis = [
        notices.httpOver(notices.api),
        pushAdminHttpHandler(client(PushServiceService, config.pushAddress), clusterOperatorToken(config)),
        revocationsHttpHandler(revocations, revocationStore, clusterOperatorToken(config)),
        searchAdminHttpHandler(
          reindexOverRpc(client(SearchServiceService, config.searchAddress)),
          clusterOperatorToken(config),
        ),
      ];
      started.push(await serveHttp(operatorApis, config.internalHost, config.noticePort));
      return { started, ready: async () => void (await r.ping()) };
    }
    case 'push': {
      const r = redis();
      const kafka = bus();
      const engine = engineStores(config, r, await cassandra());
      const { groups, notices: noticeStores } = engine;
      // Dead letters are kept for the operator (Cassandra) and announced on push_dlq for anything that watches.
      const stores = {
        ...engine.mobile,
        deadLetters: announcedOn(kafka, engine.mobile.deadLetters),
      };
      const offline = client(OfflineServiceService, config.offlineAddress);
      const sync = client(SyncServiceService, config.syncAddress);
      const routes = gatewaysOver(r);
      const notifier = startNotifier({
        config,
        ...stores,
        routes: routes.routes,
        offline,
        badges: async (users) => (await sync.getUnreadTotals({ users })).totals,
        audiences: { groups, tags: noticeStores.tags },
        log,
      });
      started.push(notifier);
      const push = await startPush({
        bus: kafka,
        ...routes,
        offline,
        log,
        options: pushOptions(config),
        devices: new Devices(stores.tokens),
        deadLetters: {
          store: stores.deadLetters,
          replay: (ids) => notifier.replay(ids),
        },
      });
      started.push(push);
      const afterPushJob = killAfter('IM_FAULT_KILL_AFTER_PUSH_JOBS', log, 'handling push jobs');
      started.push(
        await consume(kafka, {
          topic: topics.pushJobs.name,
          group: 'mobile-push',
          decode: (value) => PushJob.decode(value),
          log,
          handle: async (job) => {
            await notifier.handle([job]);
            afterPushJob?.();
          },
        }),
      );
      await serve((s) => addApi(s, PushServiceService, push.api));
      return { started, ready: async () => void (await r.ping()) };
    }
    case 'search': {
      const search = await startSearchProcess(config, { bus: bus(), cassandra: await cassandra(), log });
      started.push(...search.started);
      await serve((s) => addApi(s, SearchServiceService, search.rpc));
      return { started, ready: search.ready };
    }
    case 'gateway': {
      const r = redis();
      const { verify } = await userAuth(config, 'cluster', log);
      // Revoked sign-ins from Cassandra, the one durable list (a Redis restarted empty must not let a lost phone in).
      const revocations = await startRevocations(config, new CassandraRevocationStore(await cassandra()), log);
      started.push(revocations);
      const verifyToken = revocations.guard(verify);
      const sync = client(SyncServiceService, config.syncAddress);
      const gateway = await startGateway({
        bus: bus(),
        // The acks of one event-loop turn go out as one AckMany (a reconnect storm's syncs end in thousands).
        sync: coalescedSync(sync),
        syncEncoded: sync.encoded,
        // The connects of one event-loop turn ask for their rooms in one call (a storm is thousands of connects).
        logic: coalescedLogic(client(LogicServiceService, config.logicAddress)),
        push: client(PushServiceService, config.pushAddress),
        search: searchOverRpc(client(SearchServiceService, config.searchAddress)),
        routes: new RedisRouteTable(r, { prefix: config.redisPrefix }),
        verifyToken,
        revocations,
        log,
        options: gatewayOptions(config),
        httpApis: config.webApp ? [webAppHandler(WEB_DIST)] : [],
      });
      started.push(gateway);
      const grpc = await serveGrpc((s) => addApi(s, GatewayServiceService, gateway.api), grpcServing);
      started.push(grpc);
      const registry = new RedisGatewayRegistry(r, {
        prefix: config.redisPrefix,
      });
      const entry = {
        node: config.node,
        grpcAddress: grpc.address,
        wsUrl: gateway.url,
      };
      const ttlMs = config.registryHeartbeatMs * 3;
      await registry.register(entry, ttlMs);
      const heartbeat = setInterval(() => {
        registry.register(entry, ttlMs).catch((err: unknown) => log.warn({ err }, 'registry heartbeat failed'));
      }, config.registryHeartbeatMs);
      // Closed first: leave the registry, then drain the gateway.
      started.push({
        close: async () => {
          clearInterval(heartbeat);
          await registry.unregister(config.node).catch(() => undefined);
        },
      });
      return { started, ready: async () => void (await r.ping()) };
    }
  }
}

/**
 * Each job on `push_jobs`, keyed by its user (the notifier's coalescing holds per user: one partition each), or by
 * its audience.
 */
async function publishPushJobs(bus: Bus, jobs: readonly PushJob[]): Promise<void> {
  await Promise.all(
    jobs.map((job) => bus.publish(topics.pushJobs.name, job.user || job.audience, PushJob.encode(job).finish())),
  );
}

/** Each record on `search_input`, keyed by the document it changes. */
async function publishSearchInput(bus: Bus, records: readonly SearchRecord[]): Promise<void> {
  await Promise.all(records.map((r) => bus.publish(topics.searchInput.name, r.key, r.value)));
}

/** A dead-letter store that also publishes each letter it keeps to `push_dlq` (keyed by user). */
function announcedOn(bus: Bus, store: DeadLetterStore): DeadLetterStore {
  return {
    add: async (letter) => {
      await store.add(letter);
      await bus.publish(topics.pushDlq.name, letter.user, Buffer.from(JSON.stringify(letter)));
    },
    list: (after, limit) => store.list(after, limit),
    take: (ids) => store.take(ids),
  };
}
