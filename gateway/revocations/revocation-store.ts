/**
 * Revoked sign-ins (issue 22's revocation hook, for a lost phone): every token of a user's device, or of all the
 * user's devices (`device` ALL_DEVICES), issued up to `atMs` is refused at connect and on the HTTP APIs. A revocation
 * lasts as long as a token could (the maximum lifetime and the clock skew): after that no token it names can still
 * be valid, and it is dropped.
 */
export interface Revocation {
  user: string;
  /** A device id, or ALL_DEVICES. */
  device: string;
  atMs: number;
}

/** Not a device id (ids have no '*'): every device of the user. */
export const ALL_DEVICES = '*';

/**
 * The revocations (port). Few (lost phones, not sign-outs), so verifiers hold them all and look up in memory.
 *
 * - `revoke` keeps the revocation until `expiresAtMs`; revoking the same (user, device) again keeps the later time.
 * - `active` lists every revocation not expired at `nowMs`, in (user, device) order.
 */
export interface RevocationStore {
  revoke(revocation: Revocation, expiresAtMs: number): Promise<void>;
  active(nowMs: number): Promise<Revocation[]>;
}

export function byUserDevice(a: Revocation, b: Revocation): number {
  return a.user < b.user ? -1 : a.user > b.user ? 1 : a.device < b.device ? -1 : a.device > b.device ? 1 : 0;
}
