/**
 * The nonces of signed notice requests seen lately, per app (port): what refuses a captured request sent again
 * while its timestamp is still accepted (request-signature.ts).
 *
 * - `seen(appId, nonce, ttlMs)` records (appId, nonce) for `ttlMs` (> 0) milliseconds, rounded up to a whole one, and
 *   answers false, unless the pair is recorded and not expired: then it answers true and changes nothing (a repeat
 *   does not extend the expiry). Atomic: of any number of concurrent calls for one pair, exactly one answers false.
 * - Once its expiry has passed, a pair counts as never recorded: the next `seen` records it again and answers false.
 * - Pairs of different apps are independent. App ids and nonces never contain ':' or a newline (request-signature.ts
 *   checks their alphabet before it asks).
 * - When the answer is given, the record is as durable as the adapter's store (the SQLite one: committed).
 */
export interface NonceStore {
  seen(appId: string, nonce: string, ttlMs: number): Promise<boolean>;
}
