import type { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * The gRPC status codes used here, by their standard numbers: the SDK imports this catalogue, and in a page it must
 * not pull in grpc-js. (`satisfies` checks each against grpc-js's own enum.)
 */
const Grpc = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const satisfies { [K in keyof typeof GrpcStatus]?: (typeof GrpcStatus)[K] };

/**
 * The one error catalogue. Codes are stable: clients switch on them, so a code is never renamed or reused.
 * Each maps to an HTTP status (sync over HTTP, admin API) and a gRPC status (between services).
 */
const catalogue = {
  BAD_FRAME: { http: 400, grpc: Grpc.INVALID_ARGUMENT },
  INVALID_ARGUMENT: { http: 400, grpc: Grpc.INVALID_ARGUMENT },
  BAD_SYNC_KEY: { http: 400, grpc: Grpc.INVALID_ARGUMENT },
  UNAUTHORIZED: { http: 401, grpc: Grpc.UNAUTHENTICATED },
  TOKEN_EXPIRED: { http: 401, grpc: Grpc.UNAUTHENTICATED },
  FORBIDDEN: { http: 403, grpc: Grpc.PERMISSION_DENIED },
  NOT_MEMBER: { http: 403, grpc: Grpc.PERMISSION_DENIED },
  NOT_FOUND: { http: 404, grpc: Grpc.NOT_FOUND },
  // The group was dissolved by its owner: nothing can be sent to it or asked of it any more.
  GROUP_DISSOLVED: { http: 410, grpc: Grpc.FAILED_PRECONDITION },
  TOO_LARGE: { http: 413, grpc: Grpc.RESOURCE_EXHAUSTED },
  RATE_LIMITED: { http: 429, grpc: Grpc.RESOURCE_EXHAUSTED },
  SLOW_CONSUMER: { http: 503, grpc: Grpc.RESOURCE_EXHAUSTED },
  UNAVAILABLE: { http: 503, grpc: Grpc.UNAVAILABLE },
  INTERNAL: { http: 500, grpc: Grpc.INTERNAL },
  // An HTTP endpoint asked with a method it does not serve (the answer names the ones it does in Allow).
  METHOD_NOT_ALLOWED: { http: 405, grpc: Grpc.UNIMPLEMENTED },
} as const;

export type ErrorCode = keyof typeof catalogue;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(catalogue, code);
}

export class ImError extends Error {
  override readonly name = 'ImError';
  /** For UNAVAILABLE under overload: when the client should try again (an error frame's retry_after_ms). */
  readonly retryAfterMs: number | undefined;
  /** For INVALID_ARGUMENT of a JSON API: the request field at fault (e.g. "target.users"). */
  readonly field: string | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number; field?: string },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.field = options?.field;
  }

  get httpStatus(): number {
    return catalogue[this.code].http;
  }

  get grpcStatus(): GrpcStatus {
    return catalogue[this.code].grpc;
  }
}

/** Anything thrown, as an ImError: unknown errors become INTERNAL and keep the original as `cause`. */
export function toImError(err: unknown): ImError {
  if (err instanceof ImError) return err;
  return new ImError('INTERNAL', 'internal error', { cause: err });
}

/**
 * An error as an HTTP answer: a JSON body `{code, message}` (an INTERNAL error's detail withheld) with
 * `retryAfterMs` when the error carries a retry hint, and then also Retry-After in whole seconds for generic clients.
 */
export function httpErrorOf(e: ImError): { body: string; headers: Record<string, string> } {
  const message = e.code === 'INTERNAL' ? 'internal error' : e.message;
  const field = e.field === undefined ? {} : { field: e.field };
  if (e.retryAfterMs === undefined) return { body: JSON.stringify({ code: e.code, message, ...field }), headers: {} };
  return {
    body: JSON.stringify({ code: e.code, message, ...field, retryAfterMs: e.retryAfterMs }),
    headers: { 'Retry-After': String(Math.ceil(e.retryAfterMs / 1000)) },
  };
}
