import { Revocations, type RevocationStore } from '../gateway/index.ts';
import { devVerificationKeys, loadOrCreateDevKey } from '../lib/dev-key.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { keysFromFile, keysFromUrl, type VerificationKeys } from '../lib/token-keys.ts';
import { defaultTokenPolicy, tokenVerifier, type TokenPolicy, type TokenVerifier } from '../lib/token.ts';

/** UserAuth.keys where tokens are verified with the local dev key (and the dev sign-in may be served). */
export const DEV_KEY = 'dev key';

/** What verifies user tokens in this process, and from where (printed at start so an operator sees it). */
export interface UserAuth {
  verify: TokenVerifier;
  keys: string;
  policy: TokenPolicy;
}

/**
 * The verifier of user tokens from configuration: public keys only (a JWKS file or URL) with the configured issuer,
 * audience and limits. Without a key set, embedded mode (and a cluster declared a dev cluster) verifies dev tokens;
 * any other cluster process refuses to start rather than accept tokens anyone with the dev key could mint.
 */
export async function userAuth(config: Config, mode: 'embedded' | 'cluster', log: Logger): Promise<UserAuth> {
  const configured = config.authJwksFile !== '' || config.authJwksUrl !== '';
  if (config.authJwksFile !== '' && config.authJwksUrl !== '') {
    throw new Error('config: set IM_AUTH_JWKS_FILE or IM_AUTH_JWKS_URL, not both');
  }
  const limits = {
    audience: config.authAudience,
    clockSkewSec: config.authClockSkewSec,
    maxLifetimeSec: config.authMaxLifetimeSec,
    algorithms: config.authAlgorithms,
  };
  if (configured) {
    if (config.authIssuer === '') throw new Error('config: IM_AUTH_ISSUER is required with a key set');
    const policy = { ...limits, issuer: config.authIssuer };
    const [keys, where] = keySet(config, log);
    return { verify: tokenVerifier(keys, policy), keys: where, policy };
  }
  if (mode === 'cluster' && !config.devCluster) {
    throw new Error(
      'config: cluster mode needs the public keys of your auth server (IM_AUTH_JWKS_FILE or IM_AUTH_JWKS_URL, with ' +
        'IM_AUTH_ISSUER); the dev key is for embedded mode and dev clusters (IM_DEV_CLUSTER=1)',
    );
  }
  const policy = { ...limits, issuer: config.authIssuer || defaultTokenPolicy.issuer };
  return { verify: tokenVerifier(devVerificationKeys(await loadOrCreateDevKey()), policy), keys: DEV_KEY, policy };
}

function keySet(config: Config, log: Logger): [VerificationKeys, string] {
  if (config.authJwksUrl !== '') return [keysFromUrl(config.authJwksUrl), config.authJwksUrl];
  const onError = (err: Error) => log.error({ err: err.message }, 'user token keys: kept the last good key set');
  return [keysFromFile(config.authJwksFile, { onError }), config.authJwksFile];
}

/**
 * The revoked sign-ins this process checks (read again every IM_AUTH_REVOCATIONS_REFRESH_MS), each kept as long as a
 * token it names could live.
 */
export function startRevocations(config: Config, store: RevocationStore, log: Logger): Promise<Revocations> {
  return revocationsOf(config, store, log).start();
}

/**
 * Revocations that are only made here, never checked (the operator API in a cluster's logic process): nothing to
 * hold in memory, so the list is not read.
 */
export function revocationWriter(config: Config, store: RevocationStore, log: Logger): Pick<Revocations, 'revoke'> {
  return revocationsOf(config, store, log);
}

function revocationsOf(config: Config, store: RevocationStore, log: Logger): Revocations {
  const keepMs = (config.authMaxLifetimeSec + config.authClockSkewSec) * 1000;
  return new Revocations(store, { keepMs, refreshMs: config.authRevocationsRefreshMs }, log);
}
