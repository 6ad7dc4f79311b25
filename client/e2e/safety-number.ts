import sodium from 'libsodium-wrappers';
import { concat, field } from './bytes.ts';

/** A device's identity as a contact sees it. */
export interface DeviceIdentity {
  user: string;
  device: string;
  identityKey: Uint8Array;
}

/**
 * A number two users compare (read aloud, or by QR code) to know that no one sits between them: 60 digits from a
 * hash over both users' device identities. Both sides compute the same number from the same devices, whoever asks.
 */
export function safetyNumber(devices: readonly DeviceIdentity[]): string {
  const sorted = [...devices].sort((a, b) =>
    a.user === b.user ? (a.device < b.device ? -1 : 1) : a.user < b.user ? -1 : 1,
  );
  let hash = concat(...sorted.map((d) => concat(field(d.user), field(d.device), field(d.identityKey))));
  // Iterated, as Signal does, to make searching for a colliding key expensive.
  for (let i = 0; i < 1024; i++) hash = sodium.crypto_generichash(64, hash, null);
  const digits: string[] = [];
  for (let i = 0; i < 12; i++) {
    const chunk = hash.subarray(i * 5, i * 5 + 5);
    const n = chunk.reduce((acc, b) => acc * 256 + b, 0) % 100_000;
    digits.push(String(n).padStart(5, '0'));
  }
  return digits.join(' ');
}
