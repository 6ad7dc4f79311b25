// How long each fault kept clients' sends from being acknowledged, from the history alone (pure).
import type { FaultRecord, History, SendRecord } from './history.ts';

export interface Recovery {
  fault: string;
  target: string;
  startedAtMs: number;
  /** From the fault's start to its end (restart issued, SIGCONT). */
  downMs: number;
  /** From the fault's start until what was restarted answered its health check again. */
  readyAfterMs: number;
  /** Sends pending longer than the stall threshold after the fault began (and begun before the next fault). */
  stalledSends: number;
  /** From the fault's start until every send it stalled was acknowledged: 0 if it stalled none, null if one never was. */
  recoveredAfterMs: number | null;
  /** From the fault's start until every device that was sending had an acknowledgement again; null if one never had. */
  allSendingAfterMs: number | null;
  error?: string;
}

export function recoveries(history: History, stallMs: number): Recovery[] {
  const faults = [...history.faults].sort((a, b) => a.startedAtMs - b.startedAtMs);
  const acksByDevice = new Map<string, number[]>();
  for (const s of history.sends) {
    if (!s.ack) continue;
    const device = `${s.sender}/${s.device}`;
    const list = acksByDevice.get(device);
    if (list) list.push(s.ack.atMs);
    else acksByDevice.set(device, [s.ack.atMs]);
  }
  return faults.map((f, i) => {
    const nextStart = faults[i + 1]?.startedAtMs ?? Number.POSITIVE_INFINITY;
    return {
      fault: f.name,
      target: f.target,
      startedAtMs: f.startedAtMs,
      downMs: f.endedAtMs - f.startedAtMs,
      readyAfterMs: f.readyAtMs - f.startedAtMs,
      ...stalled(history.sends, f, nextStart, stallMs),
      allSendingAfterMs: allSending(history.sends, acksByDevice, f),
      ...(f.error ? { error: f.error } : {}),
    };
  });
}

function stalled(
  sends: readonly SendRecord[],
  f: FaultRecord,
  nextStart: number,
  stallMs: number,
): Pick<Recovery, 'stalledSends' | 'recoveredAfterMs'> {
  let count = 0;
  let lastAck = f.startedAtMs;
  let unacknowledged = false;
  for (const s of sends) {
    if (s.startedAtMs >= nextStart || s.startedAtMs > f.readyAtMs) continue;
    const end = s.ack?.atMs ?? Number.POSITIVE_INFINITY;
    if (end - Math.max(s.startedAtMs, f.startedAtMs) <= stallMs) continue;
    count++;
    if (s.ack) lastAck = Math.max(lastAck, s.ack.atMs);
    else unacknowledged = true;
  }
  return { stalledSends: count, recoveredAfterMs: unacknowledged ? null : lastAck - f.startedAtMs };
}

function allSending(sends: readonly SendRecord[], acksByDevice: Map<string, number[]>, f: FaultRecord): number | null {
  const sending = new Set<string>();
  for (const s of sends) {
    const end = s.ack?.atMs ?? Number.POSITIVE_INFINITY;
    if (s.startedAtMs <= f.readyAtMs && end >= f.startedAtMs && s.device !== '') sending.add(`${s.sender}/${s.device}`);
  }
  let worst = 0;
  for (const device of sending) {
    const first = (acksByDevice.get(device) ?? []).filter((t) => t >= f.startedAtMs).sort((a, b) => a - b)[0];
    if (first === undefined) return null;
    worst = Math.max(worst, first - f.startedAtMs);
  }
  return worst;
}
