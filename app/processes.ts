/** The services of the product, each a folder with its index.ts. */
export type Service = 'gateway' | 'logic' | 'push' | 'offline' | 'sync' | 'search';

/** Where a process's durable state lives: app/stores.ts picks the adapters for each. */
export type StoreMode = 'memory or data directory' | 'engines' | 'none';

/**
 * What one process runs: the services it serves to others, the services whose code it runs in-process for its own
 * use (a hop that cost more than it bought, decisions 0015 and 0016), the services it calls over gRPC, and where its
 * state lives. The composition roots (app/embedded.ts, app/cluster/services.ts) build each process to this.
 */
export interface ProcessDescription {
  serves: readonly Service[];
  inProcess: readonly Service[];
  calls: readonly Service[];
  stores: StoreMode;
  engines: readonly ('kafka' | 'redis' | 'cassandra' | 'elasticsearch')[];
}

/** Embedded mode: one process, every service wired as objects (or over loopback gRPC with IM_TRANSPORT=grpc). */
export const EMBEDDED: ProcessDescription = {
  serves: ['gateway', 'logic', 'push', 'offline', 'sync', 'search'],
  inProcess: [],
  calls: [],
  stores: 'memory or data directory',
  engines: [],
};

/** Cluster mode: one process per service. */
export const CLUSTER_PROCESSES = {
  offline: { serves: ['offline'], inProcess: [], calls: [], stores: 'engines', engines: ['redis', 'cassandra'] },
  // GetDiff reads offline's stores itself: one hop from the gateway, and messages not re-encoded (decision 0015).
  sync: { serves: ['sync'], inProcess: ['offline'], calls: [], stores: 'engines', engines: ['redis', 'cassandra'] },
  // A send stays in logic from the Kafka record to the gateways' Deliver calls (decision 0016). Its operator API
  // also starts and follows the search process's reindex.
  logic: {
    serves: ['logic'],
    inProcess: ['offline', 'push'],
    calls: ['gateway', 'push', 'search'],
    stores: 'engines',
    engines: ['kafka', 'redis', 'cassandra'],
  },
  // Push also runs the mobile notifier: push_jobs from Kafka, device tokens in Cassandra, badges from sync.
  push: {
    serves: ['push'],
    inProcess: [],
    calls: ['offline', 'gateway', 'sync'],
    stores: 'engines',
    engines: ['kafka', 'redis', 'cassandra'],
  },
  // Search indexes search_input into Elasticsearch and reads groups and tags from Cassandra for a user's scopes.
  search: {
    serves: ['search'],
    inProcess: [],
    calls: [],
    stores: 'engines',
    engines: ['kafka', 'cassandra', 'elasticsearch'],
  },
  gateway: {
    serves: ['gateway'],
    inProcess: [],
    calls: ['sync', 'logic', 'push', 'search'],
    stores: 'none',
    engines: ['kafka', 'redis'],
  },
} as const satisfies Record<Service, ProcessDescription>;

export type ClusterProcess = keyof typeof CLUSTER_PROCESSES;
