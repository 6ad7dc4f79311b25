import type { AuthResult } from '../proto/gen/im/v1/client.pb.ts';
import type { Message } from '../proto/gen/im/v1/message.pb.ts';
import { dmConversation } from '../lib/conversation.ts';
import { unref } from './timers.ts';
import { E2E_CONTENT_TYPE } from '../lib/e2e-keys.ts';
import { E2eError, type E2eErrorCode } from './e2e/e2e-error.ts';
import { EndToEnd, type IdentityChange, type KeyDirectoryClient } from './e2e/end-to-end.ts';
import { MemoryE2eStore, type E2eStore } from './e2e/state.ts';

export interface EncryptionOptions {
  /** Where this device keeps its keys and sessions (default: memory, so a restarted client is a new device). */
  store?: E2eStore;
  /** How long a user's device list is trusted before the server is asked again (default 5 s). */
  deviceListTtlMs?: number;
}

/** Set on an entry whose body was end-to-end encrypted: opened (the entry shows the plaintext) or refused, and why. */
export type MessageEncryption = { opened: true } | { opened: false; code: E2eErrorCode; reason: string };

/** A message as the SDK shows it: encrypted entries come opened (or marked refused). */
export type ChatMessage = Message & { encryption?: MessageEncryption };

export interface EncryptionTransport {
  directory: KeyDirectoryClient;
  /** The user ids of a group's members, asked of the server. */
  members(groupId: string): Promise<string[]>;
}

/**
 * The SDK's end-to-end encryption: loads the device's state once the server said who it is, publishes its keys,
 * encrypts sends to conversations that are encrypted and opens what arrives encrypted.
 */
export class ClientEncryption {
  private device: EndToEnd | undefined;
  private published: Promise<unknown> = Promise.resolve();
  private topUpTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: EncryptionOptions,
    private readonly transport: EncryptionTransport,
    private readonly onIdentityChanged: (change: IdentityChange) => void,
  ) {}

  /** Called at every connect: the first loads the device's state; each publishes or tops up its keys. */
  async connected(auth: AuthResult): Promise<void> {
    if (!this.device) {
      this.device = await EndToEnd.open(
        (this.options.store ??= new MemoryE2eStore()),
        { user: auth.user, device: auth.device },
        { deviceListTtlMs: this.options.deviceListTtlMs },
      );
      this.device.on('identityChanged', this.onIdentityChanged);
    }
    const first = !this.device.published;
    this.published = this.device.publish(this.transport.directory).catch(() => undefined);
    // A new device is connected once others can write to it; a known one tops its keys up meanwhile.
    if (first) await this.published;
  }

  private get ready(): EndToEnd {
    if (!this.device) throw new E2eError('E2E_NO_SESSION', 'not connected yet: the device does not know who it is');
    return this.device;
  }

  isEncrypted(conversation: string): boolean {
    return this.device?.isEncrypted(conversation) ?? false;
  }

  /**
   * Whether a send to `conversation` is encrypted: asked for, or the conversation is encrypted already (it stays
   * so: asking for plaintext there is refused).
   */
  wants(conversation: string, requested: boolean | undefined): boolean {
    const encrypted = this.isEncrypted(conversation);
    if (encrypted && requested === false)
      throw new E2eError('E2E_UNSUPPORTED', `${conversation} is end-to-end encrypted and stays so`);
    return encrypted || requested === true;
  }

  /** The body to send in place of `content`, and what to call once the server stored it. */
  async seal(
    conversation: string,
    clientMsgId: string,
    content: { contentType: string; body: Uint8Array },
  ): Promise<{ contentType: string; body: Buffer; sent: () => void }> {
    const device = this.ready;
    await this.published;
    const readers = conversation.startsWith('group:')
      ? await this.transport.members(conversation.slice('group:'.length))
      : dmUsers(conversation);
    const sealed = await device.seal(this.transport.directory, { conversation, readers, clientMsgId, ...content });
    return { contentType: E2E_CONTENT_TYPE, body: Buffer.from(sealed.body), sent: () => sealed.sent() };
  }

  /** The entry as the application sees it: opened, or marked refused with the reason. */
  open(m: Message): ChatMessage {
    if (m.contentType !== E2E_CONTENT_TYPE || m.recalled === true || m.body.length === 0 || !this.device) return m;
    try {
      const opened = this.device.open(m);
      if (this.device.wantsKeys) this.topUpSoon();
      return { ...m, contentType: opened.contentType, body: Buffer.from(opened.body), encryption: { opened: true } };
    } catch (err) {
      if (!(err instanceof E2eError)) throw err;
      return { ...m, encryption: { opened: false, code: err.code, reason: err.message } };
    }
  }

  private topUpSoon(): void {
    this.topUpTimer ??= setTimeout(() => {
      this.topUpTimer = undefined;
      if (this.device) this.published = this.device.publish(this.transport.directory).catch(() => undefined);
    }, 1_000);
    unref(this.topUpTimer);
  }

  safetyNumber(user: string): Promise<string> {
    return this.ready.safetyNumber(this.transport.directory, user);
  }

  /** Saves what opening messages changed: before they are acknowledged. */
  async save(): Promise<void> {
    await this.device?.save();
  }

  /** Waits for a key upload under way (a short-lived client, like one imctl command, must not cut it off). */
  async close(): Promise<void> {
    clearTimeout(this.topUpTimer);
    await this.published;
  }
}

function dmUsers(conversation: string): string[] {
  const [, a = '', b = ''] = conversation.split(':');
  if (dmConversation(a, b) !== conversation)
    throw new E2eError('E2E_UNSUPPORTED', `${conversation} cannot be encrypted`);
  return [a, b];
}
