import DataLoader from 'dataloader';

/** How requests of one method become one request, and its response one response per original request. */
export interface Merge<Req, Res> {
  join(requests: readonly Req[]): Req;
  split(response: Res, requests: readonly Req[]): Res[];
}

export interface CoalesceOptions {
  /** Requests per merged call at most (bounds a gRPC message and a store batch). */
  maxBatch?: number;
}

/**
 * Calls of `call` made during one turn of the event loop go out as one merged call (docs/decisions/0012): on a
 * 2-core box the fixed cost of a gRPC call (HTTP/2 frames, promises, wake-ups on both sides) outweighs the work
 * of one message, so fifty sends in flight should cost one call, not fifty. If the merged call fails, each
 * request is tried alone, so a request the callee refuses fails only itself.
 */
export function coalesce<Req, Res>(
  call: (request: Req) => Promise<Res>,
  merge: Merge<Req, Res>,
  options: CoalesceOptions = {},
): (request: Req) => Promise<Res> {
  return batched(call, async (requests) => merge.split(await call(merge.join(requests)), requests), options);
}

/**
 * Like `coalesce`, for a method with a batch twin (ReadInbox and ReadInboxes): a lone call goes out as itself,
 * several of one turn as one call of `many`, whose answers come in the order asked.
 */
export function batched<Req, Res>(
  one: (request: Req) => Promise<Res>,
  many: (requests: readonly Req[]) => Promise<Res[]>,
  options: CoalesceOptions = {},
): (request: Req) => Promise<Res> {
  const loader = new DataLoader<Req, Res>(
    async (requests) => {
      if (requests.length === 1) return [await one(requests[0]!)];
      try {
        const results = await many(requests);
        if (results.length !== requests.length) throw new Error('coalesce: a wrong number of results');
        return results;
      } catch {
        const alone = await Promise.allSettled(requests.map((r) => one(r)));
        return alone.map((s) => (s.status === 'fulfilled' ? s.value : toError(s.reason)));
      }
    },
    { cache: false, maxBatchSize: options.maxBatch ?? 256, batchScheduleFn: (run) => setImmediate(run) },
  );
  return (request) => loader.load(request);
}

/** `list` cut into consecutive pieces of the given sizes: a merged list answer split back per request. */
export function sliceBySizes<T>(list: readonly T[], sizes: readonly number[]): T[][] {
  let at = 0;
  return sizes.map((n) => list.slice(at, (at += n)));
}

/**
 * `target` with some methods replaced, e.g. by coalesced ones (a Proxy: the API may be a class instance, whose
 * methods a spread would lose).
 */
export function override<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get: (t, key) => (key in overrides ? overrides[key as keyof T] : Reflect.get(t, key)),
  });
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
