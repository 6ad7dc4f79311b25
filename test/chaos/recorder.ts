// Writes the history (history.ts) as the run goes: what each client sent and was told, what each device showed.
import type { ImClient, Message, NoticeEntry } from '../../client/sdk.ts';
import {
  messageKey,
  noticeKey,
  type FaultRecord,
  type History,
  type Observation,
  type SendRecord,
  type View,
} from './history.ts';

export class Recorder {
  readonly sends: SendRecord[] = [];
  readonly observations: Observation[] = [];
  readonly resets: History['resets'] = [];
  readonly faults: FaultRecord[] = [];
  readonly members: Record<string, string[]> = {};
  readonly devices: Record<string, string[]> = {};
  readonly startedAtMs = Date.now();

  /** Records every entry `client` shows (live or by its own sync) and every reset it is told to make. */
  watch(user: string, device: string, client: ImClient): void {
    (this.devices[user] ??= []).push(device);
    client.on('message', (m) => this.saw(user, device, 'shown', m));
    client.on('notice', (n) => this.sawNotice(user, device, n));
    client.on('reset', () => this.resets.push({ user, device, atMs: Date.now() }));
  }

  /** An entry of a stream as a device has it; operations (read markers, recalls, edits) are not messages. */
  saw(user: string, device: string, view: View, m: Message): void {
    if (m.op) return;
    const key = m.notice ? noticeKey(m.notice.noticeId) : messageKey(m.fromUser, m.fromDevice, m.clientMsgId);
    this.observations.push({
      user,
      device,
      view,
      key,
      id: m.serverMsgId,
      conversation: m.conversation,
      stream: m.stream,
      seq: m.seq,
      atMs: Date.now(),
    });
  }

  private sawNotice(user: string, device: string, n: NoticeEntry): void {
    this.observations.push({
      user,
      device,
      view: 'shown',
      key: noticeKey(n.noticeId),
      id: n.serverMsgId,
      conversation: 'system',
      stream: n.stream,
      seq: n.seq,
      atMs: Date.now(),
    });
  }

  /** A send as it starts; its acknowledgement is filled in when it comes. */
  started(send: Omit<SendRecord, 'startedAtMs'>): SendRecord {
    const record: SendRecord = { ...send, startedAtMs: Date.now() };
    this.sends.push(record);
    return record;
  }

  history(): History {
    return {
      startedAtMs: this.startedAtMs,
      endedAtMs: Date.now(),
      members: this.members,
      devices: this.devices,
      sends: this.sends,
      observations: this.observations,
      resets: this.resets,
      faults: this.faults,
    };
  }
}
