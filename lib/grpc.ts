import {
  Client,
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  status,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ImError, isErrorCode, toImError } from './errors.ts';
import type { Closeable } from './lifecycle.ts';

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

/**
 * No channelz: its per-call tracing is about a third of a unary call's CPU at low concurrency on our 2-core
 * machines (measured: 1.7 vs 1.1 ms per call with a client and server in one process; decision 0012).
 */
const LEAN_CALLS = { 'grpc.enable_channelz': 0 } as const;

/**
 * Adds `impl` to `server` under `definition`; ImErrors travel as gRPC statuses with their stable code. Methods in
 * `encoded` answer with the response already as protobuf bytes, sent as they are (see Sync.getDiffEncoded).
 */
export function addApi<D extends object>(
  server: Server,
  definition: D,
  impl: ApiOf<D>,
  encoded: Partial<EncodedApiOf<D>> = {},
): void {
  const handlers: UntypedServiceImplementation = {};
  const service = { ...definition } as Record<string, unknown>;
  for (const name of Object.keys(definition)) {
    const raw = (encoded as Record<string, ((req: unknown) => Promise<Uint8Array>) | undefined>)[name];
    if (raw) {
      const m = service[name] as UnaryMethod<unknown, unknown>;
      service[name] = {
        ...m,
        responseSerialize: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      };
    }
    const method = raw ?? (impl as Record<string, (req: unknown) => Promise<unknown>>)[name]!.bind(impl);
    handlers[name] = (
      call: { request: unknown },
      callback: (err: Partial<ServiceError> | null, res?: unknown) => void,
    ) => {
      method(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = toImError(err);
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
  /** Per-call deadline. */
  timeoutMs?: number;
}

/** Each method of a service with its answer left encoded, for a caller that only forwards the bytes. */
export type EncodedApiOf<D> = {
  [K in keyof D]: D[K] extends UnaryMethod<infer Req, unknown> ? (request: Req) => Promise<Uint8Array> : never;
};

/**
 * A client for `definition` at `address` that implements the same ApiOf interface as the server's impl, and, as
 * `encoded`, the same methods answering with the response's protobuf bytes as they came off the wire.
 */
export function grpcClient<D extends object>(
  definition: D,
  address: string,
  options: GrpcClientOptions = {},
): ApiOf<D> & Closeable & { encoded: EncodedApiOf<D> } {
  const client = new Client(address, credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    ...LEAN_CALLS,
    // Calls are not retried by the channel: a failed call surfaces, and the caller's own recovery (Kafka hands
    // the record over again; clients sync) decides. Also saves the retry bookkeeping on every call.
    'grpc.enable_retries': 0,
    // HTTP/2 starts each stream and connection at a 64 KiB window; a GetDiff page of 500 messages is larger, and
    // the server would stop mid-answer until this side's WINDOW_UPDATE arrived (page p50 12-14 -> 9-10 ms).
    'grpc-node.flow_control_window': 8 * 1024 * 1024,
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const encoded: Record<string, unknown> = {};
  const api: Record<string, unknown> = { close: () => Promise.resolve(client.close()), encoded };
  for (const [name, m] of Object.entries(definition)) {
    const method = m as UnaryMethod<unknown, unknown>;
    const call =
      (deserialize: (bytes: Buffer) => unknown) =>
      (request: unknown): Promise<unknown> =>
        new Promise((resolve, reject) => {
          client.makeUnaryRequest(
            method.path,
            (v: unknown) => method.requestSerialize(v),
            deserialize,
            request,
            new Metadata(),
            { deadline: Date.now() + timeoutMs },
            (err, res) => (err ? reject(fromServiceError(err, method.path)) : resolve(res)),
          );
        });
    api[name] = call((b) => method.responseDeserialize(b));
    encoded[name] = call((b) => b);
  }
  return api as ApiOf<D> & Closeable & { encoded: EncodedApiOf<D> };
}

function fromServiceError(err: ServiceError, path: string): ImError {
  const code = err.metadata?.get(ERROR_CODE_KEY)[0];
  if (typeof code === 'string' && isErrorCode(code)) return new ImError(code, err.details, { cause: err });
  const unavailable = err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED;
  return new ImError(unavailable ? 'UNAVAILABLE' : 'INTERNAL', `${path}: ${err.details || err.message}`, {
    cause: err,
  });
}

/** Starts a gRPC server on host:port (port 0 picks a free one) and returns its bound address. */
export async function serveGrpc(
  register: (server: Server) => void,
  host = '127.0.0.1',
  port = 0,
): Promise<{ address: string } & Closeable> {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, ...LEAN_CALLS });
  register(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
