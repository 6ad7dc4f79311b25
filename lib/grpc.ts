import {
  Client,
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  type ChannelCredentials,
  type ChannelOptions,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { bufferView } from './buffer-view.ts';
import { CallStreamClient, CallStreamServer, logInternal, type RawMethod } from './call-stream.ts';
import { ImError, toImError } from './errors.ts';
import { authorize, callerRole, type CallerPolicy } from './grpc-access.ts';
import type { Closeable } from './lifecycle.ts';
import { roleOfCertificate, type ServiceIdentity } from './service-identity.ts';

/** The shape ts-proto generates for a unary method of a grpc-js service definition. */
interface UnaryMethod<Req, Res> {
  path: string;
  requestStream: false;
  responseStream: false;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

/**
 * A service's API as a plain async interface, derived from its generated gRPC definition: embedded mode calls an
 * implementation directly, cluster mode calls the same interface through `grpcClient`.
 */
export type ApiOf<D> = {
  [K in keyof D]: D[K] extends UnaryMethod<infer Req, infer Res> ? (request: Req) => Promise<Res> : never;
};

const ERROR_CODE_KEY = 'im-error-code';

/** Each server's CallStreamServer, holding the methods that addApi added to it. */
const callStreams = new WeakMap<Server, CallStreamServer>();

/**
 * No channelz: its per-call tracing is about a third of a unary call's CPU at low concurrency on our 2-core
 * machines (measured: 1.7 vs 1.1 ms per call with a client and server in one process; decision 0012).
 */
const LEAN_CALLS = { 'grpc.enable_channelz': 0 } as const;

/**
 * Adds `impl` to `server` under `definition`, as unary methods (for any gRPC client; ImErrors travel as gRPC
 * statuses with their stable code) and on the server's call stream (what `grpcClient` uses, decision 0018).
 * Methods in `encoded` answer with the response already as protobuf bytes, sent as they are (see
 * Sync.getDiffEncoded).
 */
export function addApi<D extends object>(
  server: Server,
  definition: D,
  impl: ApiOf<D>,
  encoded: Partial<EncodedApiOf<D>> = {},
): void {
  const handlers: UntypedServiceImplementation = {};
  const service = { ...definition } as Record<string, unknown>;
  const calls = callStreams.get(server);
  if (!calls) throw new Error('addApi: a server made by serveGrpc only (it knows who may call what)');
  for (const name of Object.keys(definition)) {
    const m = service[name] as UnaryMethod<unknown, unknown>;
    const raw = (encoded as Record<string, ((req: unknown) => Promise<Uint8Array>) | undefined>)[name];
    if (raw) {
      service[name] = { ...m, responseSerialize: bufferView };
    }
    const method = raw ?? (impl as Record<string, (req: unknown) => Promise<unknown>>)[name]!.bind(impl);
    const streamed: RawMethod = raw
      ? (bytes) => raw(m.requestDeserialize(bytes))
      : async (bytes) => m.responseSerialize(await method(m.requestDeserialize(bytes)));
    calls.add(m.path, streamed);
    handlers[name] = (
      call: { request: unknown; getAuthContext: ServerUnaryCall<unknown, unknown>['getAuthContext'] },
      callback: (err: Partial<ServiceError> | null, res?: unknown) => void,
    ) => {
      new Promise((resolve) => {
        authorize(calls.callers, callerRole(call.getAuthContext()), m.path);
        resolve(method(call.request));
      }).then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = toImError(err);
          if (e.code === 'INTERNAL') logInternal(err, m.path);
          const metadata = new Metadata();
          metadata.set(ERROR_CODE_KEY, e.code);
          callback({ code: e.grpcStatus, details: e.message, metadata });
        },
      );
    };
  }
  server.addService(service as unknown as ServiceDefinition, handlers);
}

export interface GrpcClientOptions {
  /** What this side presents (its certificate) and verifies the server by (the CA). */
  identity: ServiceIdentity;
  /** The role the server's certificate must name (e.g. `offline`): another service's certificate is refused. */
  serverRole: string;
  /** Per-call deadline. */
  timeoutMs?: number;
}

/** Each method of a service with its answer left encoded, for a caller that only forwards the bytes. */
export type EncodedApiOf<D> = {
  [K in keyof D]: D[K] extends UnaryMethod<infer Req, unknown> ? (request: Req) => Promise<Uint8Array> : never;
};

/** The channel every client of ours opens (exported so the ceilings bench calls unary methods on the same one). */
export const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  ...LEAN_CALLS,
  // Calls are not retried by the channel: a failed call surfaces, and the caller's own recovery (Kafka hands
  // the record over again; clients sync) decides. Also saves the retry bookkeeping on every call.
  'grpc.enable_retries': 0,
  // HTTP/2 starts each stream and connection at a 64 KiB window; a GetDiff page of 500 messages is larger, and
  // the server would stop mid-answer until this side's WINDOW_UPDATE arrived (page p50 12-14 -> 9-10 ms).
  'grpc-node.flow_control_window': 8 * 1024 * 1024,
} as const;

/**
 * A client for `definition` at `address` that implements the same ApiOf interface as the server's impl, and, as
 * `encoded`, the same methods answering with the response's protobuf bytes as they came off the wire.
 */
export function grpcClient<D extends object>(
  definition: D,
  address: string,
  options: GrpcClientOptions,
): ApiOf<D> & Closeable & { encoded: EncodedApiOf<D> } {
  const { identity, serverRole } = options;
  const client = new Client(address, clientCredentials(identity, serverRole), secureChannelOptions(serverRole));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const stream = new CallStreamClient(client);
  const encoded: Record<string, unknown> = {};
  const close = () => {
    stream.close();
    client.close();
    return Promise.resolve();
  };
  const api: Record<string, unknown> = { close, encoded };
  for (const [name, m] of Object.entries(definition)) {
    const method = m as UnaryMethod<unknown, unknown>;
    const call = (request: unknown) => stream.call(method.path, method.requestSerialize(request), timeoutMs);
    api[name] = async (request: unknown) => method.responseDeserialize(await call(request));
    encoded[name] = call;
  }
  return api as ApiOf<D> & Closeable & { encoded: EncodedApiOf<D> };
}

/**
 * Channel credentials for mTLS (decision 0028): this side's certificate, and the server verified against the CA and
 * by the role its certificate names, not by its address (a service is known by its role, as a SPIFFE ID would know
 * it; addresses are IPs from the configuration and the gateway registry, which a certificate per role need not list).
 */
export function clientCredentials(identity: ServiceIdentity, serverRole: string): ChannelCredentials {
  return credentials.createSsl(Buffer.from(identity.ca), Buffer.from(identity.key), Buffer.from(identity.cert), {
    checkServerIdentity: (_name: string, cert: PeerCertificate) => {
      const role = roleOfCertificate(cert);
      if (role === serverRole) return undefined;
      return new ImError(
        'UNAVAILABLE',
        `the server presented the certificate of ${role ?? 'no role'}, not ${serverRole}`,
      );
    },
  });
}

/**
 * CHANNEL_OPTIONS for a channel with clientCredentials: the TLS server name is the role (an IP address may not be
 * one, RFC 6066, and Node warns), which the server's certificate is checked against anyway.
 */
export function secureChannelOptions(serverRole: string): ChannelOptions {
  return { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': serverRole };
}

export interface ServeGrpcOptions {
  /** What the server presents, and the CA its callers' certificates must be signed by. */
  identity: ServiceIdentity;
  /** Which caller roles may call which methods (app/cluster/callers.ts in cluster mode). */
  callers: CallerPolicy;
  /** Default 127.0.0.1; a cluster service binds its internal interface (IM_INTERNAL_HOST). */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
}

/**
 * Starts a gRPC server on host:port that takes only callers with a certificate from the identity's CA, and answers
 * a call its caller's role may not make with PERMISSION_DENIED; returns its bound address.
 */
export async function serveGrpc(
  register: (server: Server) => void,
  { identity, callers, host = '127.0.0.1', port = 0 }: ServeGrpcOptions,
): Promise<{ address: string } & Closeable> {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, ...LEAN_CALLS });
  const calls = new CallStreamServer(callers);
  callStreams.set(server, calls);
  register(server);
  calls.register(server);
  const tls = ServerCredentials.createSsl(
    Buffer.from(identity.ca),
    [{ private_key: Buffer.from(identity.key), cert_chain: Buffer.from(identity.cert) }],
    true,
  );
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, tls, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `${host}:${bound}`,
    close: async () => {
      // The call streams end first (tryShutdown waits for every open stream). A method that never settles must
      // not hold the shutdown: after 2 s the server is forced down.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        void (async () => {
          await calls.drain();
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        })();
      });
    },
  };
}
