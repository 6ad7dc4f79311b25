/**
 * Why a client refused an encrypted message. The message is still shown as refused (its seq is not lost); these
 * codes are the client's own, not the server's error catalogue.
 */
export type E2eErrorCode =
  /** Not an envelope, or a field of the wrong size. */
  | 'E2E_MALFORMED'
  /** Authentication failed: tampered, or made for another conversation, sender, device or message. */
  | 'E2E_REFUSED'
  /** The same message again under another id, or a key already used. */
  | 'E2E_REPLAYED'
  /** The envelope holds nothing for this device (sent before it existed, or to other devices). */
  | 'E2E_NOT_FOR_THIS_DEVICE'
  /** No session or sender key opens it (e.g. this device's state was lost). */
  | 'E2E_NO_SESSION'
  /** A signature by an identity or sender key does not verify. */
  | 'E2E_BAD_SIGNATURE'
  /** Sending: the conversation cannot be encrypted (a large group, notices) or has no device to read it. */
  | 'E2E_UNSUPPORTED';

export class E2eError extends Error {
  override readonly name = 'E2eError';
  constructor(
    readonly code: E2eErrorCode,
    message: string,
  ) {
    super(message);
  }
}
