import type { Command } from 'commander';
import { E2E_CONTENT_TYPE } from '../lib/e2e-keys.ts';
import { messageJson } from '../lib/message-json.ts';
import { deviceCommand, print, type DeviceOptions } from './cli.ts';
import type { WithClient } from './imctl-push.ts';
import type { ChatMessage, IdentityChange, ImClient, Message } from './sdk.ts';

/**
 * How imctl shows end-to-end encryption: entries opened with the device's keys print as plaintext ones do, marked
 * `"encrypted": true`; refused ones carry the SDK's reason instead of ciphertext; `imctl safety-number` prints the
 * number two users compare.
 */

/** An entry as `listen` and `sync` print it: messageJson, with `encrypted` (and `refused`) for an encrypted one. */
export function chatMessageJson(m: ChatMessage) {
  const json = messageJson(m);
  if (m.encryption?.opened === true) return { ...json, encrypted: true };
  if (m.contentType !== E2E_CONTENT_TYPE) return json;
  // Ciphertext means nothing to the reader: left out, with why it did not open when the SDK tried.
  const shown: Record<string, unknown> = { ...json };
  delete shown.body_base64;
  const refused = m.encryption?.opened === false ? { code: m.encryption.code, reason: m.encryption.reason } : undefined;
  return { ...shown, encrypted: true, ...(refused ? { refused } : {}) };
}

/** Still to be opened: an encrypted entry with a body (a recalled one is an empty tombstone). */
const sealed = (m: Message, known: ReadonlyMap<string, ChatMessage>) =>
  m.contentType === E2E_CONTENT_TYPE && m.body.length > 0 && !m.recalled && !known.has(m.serverMsgId);

/**
 * What the client showed, opened (or refused) with the device's keys, by server_msg_id: lets a raw GetDiff page
 * (`imctl sync`) print as the device reads it. Watch the client before it connects: its first sync shows the inbox.
 */
export class OpenedEntries {
  private readonly byId = new Map<string, ChatMessage>();

  watch(client: ImClient): void {
    client.on('message', (m) => {
      if (m.encryption) this.byId.set(m.serverMsgId, m);
    });
  }

  /**
   * The page's entries as the device reads them. One the client has not shown yet arrived after its first sync: a
   * second sync started after the page was fetched shows it (the first may have been under way already).
   */
  async open(client: ImClient, page: Message[]): Promise<ChatMessage[]> {
    for (let pass = 0; pass < 2 && page.some((m) => sealed(m, this.byId)); pass++) await client.sync();
    return page.map((m) => this.byId.get(m.serverMsgId) ?? m);
  }
}

/** A contact's device has new keys: said on stderr (stdout keeps its format), with the number to compare again. */
export function warnIdentityChanged(change: IdentityChange): void {
  const warning = {
    code: 'IDENTITY_CHANGED',
    message: `${change.user}/${change.device} has new end-to-end keys: compare the safety number again`,
    user: change.user,
    device: change.device,
    safety_number: change.safetyNumber,
  };
  process.stderr.write(JSON.stringify({ warning }) + '\n');
}

/** `imctl safety-number --user A --with B`: the 60 digits A and B compare to rule out a key in between. */
export function addSafetyNumberCommand(program: Command, withClient: WithClient): void {
  deviceCommand(
    program,
    'safety-number',
    'print the number to compare with another user (in person or by another channel): {safety_number}',
  )
    .requiredOption('--with <user>', 'the other user')
    .action(async (o: DeviceOptions & { with: string }) => {
      const safetyNumber = await withClient({ ...o, state: false }, (c) => c.safetyNumber(o.with));
      print({ user: o.user, with: o.with, safety_number: safetyNumber });
    });
}
