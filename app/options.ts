import type { Config } from '../lib/config.ts';
import { DEV_ORIGINS, type GatewayOptions } from '../gateway/index.ts';
import type { LogicDeps } from '../logic/index.ts';
import type { PushOptions } from '../push/index.ts';

/**
 * Service options from the one Config, shared by embedded and cluster mode. `devOrigins`: the embedded server also
 * lets pages served from any port of this machine connect (a web client under development).
 */
export function gatewayOptions(config: Config, { devOrigins = false } = {}): GatewayOptions {
  return {
    host: config.host,
    port: config.port,
    node: config.node,
    maxFrameBytes: config.maxFrameBytes,
    hardMaxFrameBytes: config.hardMaxFrameBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    maxBufferedBytes: config.maxBufferedBytes,
    rateLimit: {
      frames: config.rateLimitFrames,
      bytes: config.rateLimitBytes,
      windowMs: config.rateLimitSeconds * 1000,
    },
    userLimits: {
      connections: config.maxConnectionsPerUser,
      syncsInFlight: config.maxSyncsPerUser,
      httpSyncsPerSecond: config.httpSyncsPerUserPerSecond,
    },
    routeTtlMs: config.routeTtlMs,
    drainTimeoutMs: config.drainTimeoutMs,
    allowedOrigins: devOrigins ? [...config.allowedOrigins, ...DEV_ORIGINS] : config.allowedOrigins,
    allowQueryToken: config.allowQueryToken,
    admission: {
      syncs: { concurrency: config.syncConcurrency, maxWaitMs: config.admissionMaxWaitMs },
      connects: { concurrency: config.connectConcurrency, maxWaitMs: config.admissionMaxWaitMs },
    },
  };
}

export function logicLimits(config: Config): LogicDeps['limits'] {
  return {
    maxBodyBytes: config.maxBodyBytes,
    dedupeTtlMs: config.dedupeTtlMs,
    recallWindowMs: config.recallWindowMs,
    editWindowMs: config.editWindowMs,
    maxEditsPerMessage: config.maxEditsPerMessage,
    largeGroupAbove: config.smallGroupMaxMembers,
    seqInFlightTtlMs: config.seqInFlightTtlMs,
    group: { maxMembers: config.maxGroupMembers, maxNameChars: 128 },
    keyClaimsPerUserPerMinute: config.e2eKeyClaimsPerUserPerMinute,
  };
}

export function pushOptions(config: Config): PushOptions {
  return {
    catchUpPageSize: 100,
    catchUpMaxBytes: config.syncPageMaxBytes,
    catchUpMax: 1000,
  };
}
