import {
  Metadata,
  status as GrpcStatus,
  type Client,
  type ClientDuplexStream,
  type Server,
  type ServerDuplexStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { CallFrame, CallStreamServiceService } from '../proto/gen/im/v1/calls.pb.ts';
import { bufferView } from './buffer-view.ts';
import { echo } from './echo.ts';
import { createLogger, type Logger } from './logger.ts';
import { ImError, isErrorCode, toImError, type ErrorCode } from './errors.ts';
import { authorize, callerRole, type CallerPolicy } from './grpc-access.ts';

let internalLog: Logger | undefined;

/**
 * A call that failed with an unexpected error, logged where it happened: its caller hears only "internal error"
 * (the logger is made on the first one).
 */
export function logInternal(err: unknown, method: string): void {
  (internalLog ??= createLogger().child({ svc: 'grpc' })).error({ err, method }, 'a call failed');
}

/** The error fields of a frame that carries none. */
const NO_ERROR = { errorCode: '', errorMessage: '', retryAfterMs: 0, errorField: '' } as const;
/** A unary method as a call stream runs it: the request's bytes in, the response's bytes out. */
export type RawMethod = (request: Buffer) => Promise<Uint8Array>;

const EMPTY = Buffer.alloc(0);
/** A stream the server refused (decision 0028) fails its calls with these codes; any other break is UNAVAILABLE. */
const REFUSALS = new Map<number, ErrorCode>([
  [GrpcStatus.UNAUTHENTICATED, 'UNAUTHORIZED'],
  [GrpcStatus.PERMISSION_DENIED, 'FORBIDDEN'],
]);
const CALLS = CallStreamServiceService.calls;

type ServerStream = ServerDuplexStream<CallFrame, CallFrame>;

/**
 * The server side of CallStreamService (decision 0018): the unary methods of a server, each frame on a stream one
 * call, answered on that stream when its method settles. Calls on one stream run concurrently, as unary calls do.
 * The caller's role is read from its certificate once, when its stream opens; each frame's method is checked
 * against `callers` (decision 0028).
 */
export class CallStreamServer {
  private readonly methods = new Map<string, RawMethod>();
  /** Open streams, their caller's role and their calls not yet answered. */
  private readonly open = new Map<ServerStream, { role: string; inFlight: number; ended: boolean }>();
  private draining: (() => void) | undefined;
  /** One drain for every caller (a second close must not replace the first one's resolver). */
  private drained: Promise<void> | undefined;

  /** Who may call what (decision 0028): this checks each frame, addApi's unary handlers each call. */
  constructor(readonly callers: CallerPolicy) {}

  add(path: string, method: RawMethod): void {
    this.methods.set(path, method);
  }

  register(server: Server): void {
    const impl: UntypedServiceImplementation = { calls: (call: ServerStream) => this.serve(call) };
    server.addService(CallStreamServiceService, impl);
  }

  /**
   * Ends every stream once its calls are answered and answers later calls UNAVAILABLE: a server shuts down only
   * when its streams are closed, and these would otherwise stay open for as long as their clients live.
   */
  drain(): Promise<void> {
    this.drained ??= new Promise<void>((resolve) => {
      this.draining = resolve;
      for (const call of [...this.open.keys()]) this.endIfIdle(call);
      if (this.open.size === 0) resolve();
    });
    return this.drained;
  }

  private serve(call: ServerStream): void {
    const role = this.admit(call);
    if (role === undefined) return;
    this.open.set(call, { role, inFlight: 0, ended: false });
    call.on('data', (frame: CallFrame) => {
      const state = this.open.get(call);
      if (!state) return;
      state.inFlight++;
      void this.answer(frame, state.role).then((answer) => {
        state.inFlight--;
        if (this.open.has(call)) call.write(answer);
        this.endIfIdle(call);
      });
    });
    call.on('end', () => {
      const state = this.open.get(call);
      if (state) state.ended = true;
      this.endIfIdle(call);
    });
    const gone = () => this.forget(call);
    call.on('cancelled', gone);
    call.on('error', gone);
    call.on('close', gone);
  }

  /**
   * The role of the stream's caller, or undefined after refusing the stream: a caller without a role, or whose role
   * may call none of this server's methods, hears UNAUTHENTICATED or PERMISSION_DENIED as the stream's status.
   */
  private admit(call: ServerStream): string | undefined {
    try {
      const role = callerRole(call.getAuthContext());
      if (![...this.methods.keys()].some((path) => this.callers(role, path))) {
        throw new ImError('FORBIDDEN', `the ${role} role may call no method of this server`);
      }
      return role;
    } catch (err) {
      const e = toImError(err);
      call.emit('error', { code: e.grpcStatus, details: e.message });
      return undefined;
    }
  }

  private endIfIdle(call: ServerStream): void {
    const state = this.open.get(call);
    if (!state || state.inFlight > 0 || !(state.ended || this.draining)) return;
    this.forget(call);
    call.end();
  }

  private forget(call: ServerStream): void {
    if (!this.open.delete(call)) return;
    if (this.draining && this.open.size === 0) this.draining();
  }

  private async answer({ id, method, body }: CallFrame, role: string): Promise<CallFrame> {
    try {
      if (this.draining) throw new ImError('UNAVAILABLE', 'the service is shutting down');
      const run = this.methods.get(method);
      if (!run) throw new ImError('NOT_FOUND', `no method ${echo(method)} on this server`);
      authorize(this.callers, role, method);
      const response = await run(body);
      return { id, method: '', body: bufferView(response), ...NO_ERROR };
    } catch (err) {
      const e = toImError(err);
      if (e.code === 'INTERNAL') logInternal(err, method);
      return {
        id,
        method: '',
        body: EMPTY,
        errorCode: e.code,
        errorMessage: e.message,
        retryAfterMs: e.retryAfterMs ?? 0,
        errorField: e.field ?? '',
      };
    }
  }
}

interface Pending {
  method: string;
  resolve: (body: Buffer) => void;
  reject: (err: ImError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The client side: unary calls sent as frames on one long-lived stream, opened on the first call and again on the
 * first call after it broke. A broken stream fails the calls waiting on it with UNAVAILABLE, as a failed unary
 * call would; nothing is retried here (the caller's own recovery decides, decision 0012).
 */
export class CallStreamClient {
  private stream: ClientDuplexStream<CallFrame, CallFrame> | undefined;
  private readonly pending = new Map<number, Pending>();
  private lastId = 0;
  private closed = false;

  constructor(private readonly client: Client) {}

  call(method: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new ImError('UNAVAILABLE', `${method}: client closed`));
    return new Promise<Buffer>((resolve, reject) => {
      const id = this.nextId();
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ImError('UNAVAILABLE', `${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.openStream().write({ id, method, body: request, ...NO_ERROR });
    });
  }

  /** Half-closes the stream: the server answers the calls it has, then ends it. */
  close(): void {
    this.closed = true;
    this.stream?.end();
  }

  private nextId(): number {
    do this.lastId = (this.lastId + 1) >>> 0;
    while (this.lastId === 0 || this.pending.has(this.lastId));
    return this.lastId;
  }

  private openStream(): ClientDuplexStream<CallFrame, CallFrame> {
    if (this.stream) return this.stream;
    const stream = this.client.makeBidiStreamRequest(
      CALLS.path,
      CALLS.requestSerialize,
      CALLS.responseDeserialize,
      new Metadata(),
      {},
    );
    stream.on('data', (frame: CallFrame) => this.settle(frame));
    const broken = (why: string, code: ErrorCode = 'UNAVAILABLE') => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(new ImError(code, `${p.method}: ${why}`));
      }
    };
    stream.on('error', (err: Error & { details?: string; code?: number }) =>
      broken(err.details || err.message, REFUSALS.get(err.code ?? -1)),
    );
    stream.on('status', () => broken('the call stream ended'));
    stream.on('end', () => broken('the call stream ended'));
    this.stream = stream;
    return stream;
  }

  private settle({ id, body, errorCode, errorMessage, retryAfterMs, errorField }: CallFrame): void {
    const p = this.pending.get(id);
    if (!p) return; // timed out already
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (!errorCode) return p.resolve(body);
    const code = isErrorCode(errorCode) ? errorCode : 'INTERNAL';
    p.reject(
      new ImError(code, errorMessage, {
        ...(retryAfterMs > 0 ? { retryAfterMs } : {}),
        ...(errorField ? { field: errorField } : {}),
      }),
    );
  }
}
