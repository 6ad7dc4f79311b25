import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../lib/config.ts';
import { IN_MEMORY } from '../lib/data-dir.ts';

/** The file in the data directory that holds embedded mode's operator token (imctl reads it from there). */
export const OPERATOR_TOKEN_FILE = 'operator-token';

/**
 * The operator token of embedded mode: IM_OPERATOR_TOKEN, else the data directory's (made on first start, readable
 * by its owner only), else, for a server in memory, a new one for this process.
 */
export function embeddedOperatorToken(config: Config): { token: string; where: string } {
  if (config.operatorToken) return { token: config.operatorToken, where: 'IM_OPERATOR_TOKEN' };
  if (config.dataDir === IN_MEMORY) return { token: newToken(), where: 'this process only (IM_DATA_DIR=:memory:)' };
  const path = join(config.dataDir, OPERATOR_TOKEN_FILE);
  if (!existsSync(path)) writeFileSync(path, `${newToken()}\n`, { mode: 0o600, flag: 'wx' });
  return { token: readFileSync(path, 'utf8').trim(), where: path };
}

/** Cluster mode has no data directory: the token is configuration, and a cluster without one refuses to start. */
export function clusterOperatorToken(config: Config): string {
  if (!config.operatorToken)
    throw new Error("IM_OPERATOR_TOKEN is required in cluster mode (the notice API's operator credential)");
  return config.operatorToken;
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}
