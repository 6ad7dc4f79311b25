import type { CallerPolicy } from '../../lib/grpc-access.ts';
import { GatewayServiceService } from '../../gateway/index.ts';
import { LogicServiceService, NoticeServiceService } from '../../logic/index.ts';
import { OfflineServiceService } from '../../offline/index.ts';
import { PushServiceService } from '../../push/index.ts';
import { SearchServiceService } from '../../search/index.ts';
import { SyncServiceService } from '../../sync/index.ts';
import type { ClusterProcess } from '../processes.ts';

/** Per method of one service: the roles that may call it. A method not listed is called by no other process. */
type CallersOf<D> = { [K in keyof D]?: readonly ClusterProcess[] };

interface ServedApi {
  definition: object;
  servedBy: ClusterProcess;
  callers: Readonly<Record<string, readonly ClusterProcess[] | undefined>>;
}

const api = <D extends object>(definition: D, servedBy: ClusterProcess, callers: CallersOf<D>): ServedApi => ({
  definition,
  servedBy,
  callers,
});

/**
 * Who calls what in cluster mode (decision 0028): each gRPC API, the process that serves it and, per method, the
 * roles (from the caller's certificate) allowed to call it. It is the call graph of app/cluster/services.ts and
 * nothing more: logic and sync run offline's code in-process (decisions 0015, 0016), so offline's writes have no
 * caller over gRPC, and logic's notice API is HTTP, so NoticeService has none either.
 */
const CLUSTER_APIS: readonly ServedApi[] = [
  // The push process catches a reconnecting device up and checks a device's cursor before a mobile push.
  api(OfflineServiceService, 'offline', { getCursor: ['push'], readInbox: ['push'] }),
  api(SyncServiceService, 'sync', {
    getDiff: ['gateway'],
    ack: ['gateway'],
    ackMany: ['gateway'],
    getUnreadTotals: ['push'], // the badge of a mobile push
  }),
  // Every method acts for the user the gateway authenticated: only the gateway may name one.
  api(LogicServiceService, 'logic', {
    createGroup: ['gateway'],
    addMembers: ['gateway'],
    removeMembers: ['gateway'],
    listMembers: ['gateway'],
    leaveGroup: ['gateway'],
    dissolveGroup: ['gateway'],
    setMemberRole: ['gateway'],
    listGroups: ['gateway'],
    listRooms: ['gateway'],
    listRoomsOf: ['gateway'],
    uploadKeys: ['gateway'],
    queryKeys: ['gateway'],
  }),
  api(NoticeServiceService, 'logic', {}),
  api(PushServiceService, 'push', {
    registerDevice: ['gateway'], // a device's frame or POST /v1/devices
    unregisterDevice: ['gateway'],
    // The push admin API (dead letters, a user's devices) is served on logic's operator port.
    listDevices: ['logic'],
    listDeadLetters: ['logic'],
    replayDeadLetters: ['logic'],
  }),
  // A search acts for the user the gateway authenticated, as logic's methods do; the reindex is the operator's, whose
  // API logic serves.
  api(SearchServiceService, 'search', { search: ['gateway'], startReindex: ['logic'], getReindex: ['logic'] }),
  // Logic delivers each send (its in-process push), push delivers catch-up and connection answers.
  api(GatewayServiceService, 'gateway', { deliver: ['logic', 'push'], changeRooms: ['logic', 'push'] }),
];

/** Each method's path (`/im.v1.OfflineService/ReadInbox`) and the roles that may call it. */
const ALLOWED = new Map<string, readonly string[]>(
  CLUSTER_APIS.flatMap(({ definition, callers }) =>
    Object.entries(definition as Record<string, { path: string }>).map(([name, m]) => [m.path, callers[name] ?? []]),
  ),
);

/** The cluster's policy: a role may call the methods listed for it above, and nothing else. */
export const clusterCallers: CallerPolicy = (role, path) => ALLOWED.get(path)?.includes(role) ?? false;

/** The role whose certificate a server of `definition` presents: a client refuses any other. */
export function roleServing(definition: object): ClusterProcess {
  const served = CLUSTER_APIS.find((a) => a.definition === definition);
  if (!served) throw new Error('roleServing: not an API of the cluster');
  return served.servedBy;
}

/** The table, for tests that hold it against app/processes.ts. */
export function clusterApis(): readonly { servedBy: ClusterProcess; callers: readonly ClusterProcess[] }[] {
  return CLUSTER_APIS.map(({ servedBy, callers }) => ({
    servedBy,
    callers: [...new Set(Object.values(callers).flatMap((roles) => roles ?? []))],
  }));
}
