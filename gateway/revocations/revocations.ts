import { ImError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { TokenVerifier } from '../../lib/token.ts';
import { ALL_DEVICES, type Revocation, type RevocationStore } from './revocation-store.ts';

export interface RevocationsOptions {
  /** How long a revocation is kept: the longest a token lives plus the clock skew tolerated. */
  keepMs: number;
  /** How often the list is read again (a revocation made elsewhere is in force within this). */
  refreshMs: number;
}

/**
 * The revocations a verifier checks, held in memory and read again every `refreshMs` (they are few), so a connect
 * costs a map lookup, not a store read. A revocation made through this object is in force here at once.
 */
export class Revocations {
  private byKey = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly store: RevocationStore,
    private readonly options: RevocationsOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<this> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.log.warn({ err }, 'token revocations not read; kept the last list'));
    }, this.options.refreshMs);
    this.timer.unref();
    return this;
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return Promise.resolve();
  }

  async revoke(user: string, device: string, nowMs = Date.now()): Promise<Revocation> {
    const revocation = { user, device, atMs: nowMs };
    await this.store.revoke(revocation, nowMs + this.options.keepMs);
    this.hold(revocation);
    return revocation;
  }

  /**
   * Calls `listener` whenever a revocation comes into force here (made here, or read from the store): a gateway then
   * cuts the connections it holds whose tokens are revoked now.
   */
  onRevoked(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Whether a token of (user, device) issued at `iatSec` is revoked: issued in or before a revocation's second. */
  revoked(user: string, device: string, iatSec: number): boolean {
    const at = Math.max(this.byKey.get(keyOf(user, device)) ?? 0, this.byKey.get(keyOf(user, ALL_DEVICES)) ?? 0);
    return at > 0 && iatSec <= Math.floor(at / 1000);
  }

  /** `verify`, then refused as UNAUTHORIZED when the token's device (or user) was revoked after it was issued. */
  guard(verify: TokenVerifier): TokenVerifier {
    return async (token, now) => {
      const claims = await verify(token, now);
      if (this.revoked(claims.sub, claims.dev, claims.iat)) throw new ImError('UNAUTHORIZED', 'token revoked');
      return claims;
    };
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    const next = new Map<string, number>();
    for (const r of await this.store.active(now)) next.set(keyOf(r.user, r.device), r.atMs);
    // What this process revoked while the read was on its way stays, until it would have expired anyway.
    for (const [key, at] of this.byKey) {
      if ((next.get(key) ?? 0) < at && at + this.options.keepMs > now) next.set(key, at);
    }
    const grew = [...next].some(([key, at]) => at > (this.byKey.get(key) ?? 0));
    this.byKey = next;
    if (grew) this.announce();
  }

  private announce(): void {
    for (const listener of this.listeners) listener();
  }

  private hold(r: Revocation): void {
    const key = keyOf(r.user, r.device);
    this.byKey.set(key, Math.max(this.byKey.get(key) ?? 0, r.atMs));
    this.announce();
  }
}

function keyOf(user: string, device: string): string {
  return `${user}\n${device}`;
}
