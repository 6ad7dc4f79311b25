// The checker of a chaos run, in the spirit of Jepsen's: it reads the history the clients recorded (history.ts) and
// nothing of the server's, and reports every way the run broke a promise made to a client. Pure: no I/O, no clock.
import { streamOf, type History, type Observation, type SendRecord } from './history.ts';
import { recoveries, type Recovery } from './recovery.ts';

export interface CheckOptions {
  /** An acknowledgement this soon after the inbox store went down may be of a write it finished before (default 1 s). */
  storeDownGraceMs?: number;
  /** A send pending this long is one the fault stalled (default 5 s), for recovery times. */
  stallMs?: number;
  /** Examples kept per finding (default 10). */
  examples?: number;
}

export interface Finding<T> {
  count: number;
  examples: T[];
}

export interface Lost {
  key: string;
  id: string;
  conversation: string;
  ackAtMs: number;
  /** "<user>/<device> (<view>)" for every device and view that lacks it. */
  missingOn: string[];
}
export interface Duplicate {
  device: string;
  view: string;
  key: string;
  ids: string[];
}
export interface SeqReuse {
  stream: string;
  seq: number;
  ids: string[];
}
export interface Inversion {
  device: string;
  view: string;
  conversation: string;
  /** Shown first, yet sent only after `acknowledgedBefore` was acknowledged. */
  shownFirst: string;
  acknowledgedBefore: string;
}
export interface AckWhileDown {
  key: string;
  ackAtMs: number;
  fault: string;
  downFromMs: number;
  downToMs: number;
}

export interface CheckReport {
  sends: number;
  acknowledged: number;
  /** Given up by the client: may or may not have been stored; never counted lost. */
  unacknowledged: number;
  /** The unacknowledged by the error the client was given. */
  unacknowledgedBy: Record<string, number>;
  observations: number;
  resets: number;
  /** Acknowledged messages missing on a device that must have them: counted once per message. */
  lost: Finding<Lost> & { deliveries: number };
  duplicates: Finding<Duplicate>;
  seqsReused: Finding<SeqReuse>;
  inversions: Finding<Inversion>;
  acksWhileStoreDown: Finding<AckWhileDown>;
  recovery: Recovery[];
  /** No message lost or duplicated, no seq reused, no inversion, no acknowledgement while the store was down. */
  ok: boolean;
}

export function check(history: History, options: CheckOptions = {}): CheckReport {
  const max = options.examples ?? 10;
  const sends = new Map(history.sends.map((s) => [s.key, s]));
  const segmented = withSegments(history);
  const lost = findLost(history, max);
  const duplicates = findDuplicates(segmented, max);
  const seqsReused = findSeqReuse(history, max);
  const inversions = findInversions(segmented, sends, max);
  const acksWhileStoreDown = findAcksWhileDown(history, options.storeDownGraceMs ?? 1_000, max);
  const acknowledged = history.sends.filter((s) => s.ack).length;
  return {
    sends: history.sends.length,
    acknowledged,
    unacknowledged: history.sends.length - acknowledged,
    unacknowledgedBy: countBy(history.sends.filter((s) => !s.ack).map((s) => s.failure?.code ?? 'none')),
    observations: history.observations.length,
    resets: history.resets.length,
    lost,
    duplicates,
    seqsReused,
    inversions,
    acksWhileStoreDown,
    recovery: recoveries(history, options.stallMs ?? 5_000),
    ok: [lost, duplicates, seqsReused, inversions, acksWhileStoreDown].every((f) => f.count === 0),
  };
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const deviceOf = (o: { user: string; device: string }) => `${o.user}/${o.device}`;

/** Every acknowledged send must be in every view of every device of every user it was for. */
function findLost(history: History, max: number): CheckReport['lost'] {
  const seen = new Map<string, Set<string>>();
  for (const o of history.observations) {
    const at = `${deviceOf(o)} (${o.view})`;
    let keys = seen.get(at);
    if (!keys) seen.set(at, (keys = new Set()));
    keys.add(o.key);
  }
  const views = [...new Set(history.observations.map((o) => o.view))];
  const examples: Lost[] = [];
  let count = 0;
  let deliveries = 0;
  for (const s of history.sends) {
    if (!s.ack) continue;
    const users = s.audience ?? history.members[s.conversation] ?? [];
    const missingOn = users.flatMap((user) =>
      (history.devices[user] ?? []).flatMap((device) =>
        views.map((view) => `${user}/${device} (${view})`).filter((at) => !seen.get(at)?.has(s.key)),
      ),
    );
    if (missingOn.length === 0) continue;
    count++;
    deliveries += missingOn.length;
    if (examples.length < max)
      examples.push({ key: s.key, id: s.ack.id, conversation: s.conversation, ackAtMs: s.ack.atMs, missingOn });
  }
  return { count, deliveries, examples };
}

/**
 * Observations per device and view, cut at each reset the device was told to make (it dropped what it had and shows
 * everything again: neither a duplicate nor an inversion), in the order they were shown or read.
 */
function withSegments(history: History): Map<string, Observation[]> {
  const resets = new Map<string, number[]>();
  for (const r of history.resets) pushTo(resets, deviceOf(r), r.atMs);
  const segments = new Map<string, Observation[]>();
  for (const o of history.observations) {
    const segment = o.view === 'shown' ? (resets.get(deviceOf(o)) ?? []).filter((t) => t <= o.atMs).length : 0;
    pushTo(segments, `${deviceOf(o)}|${o.view}|${segment}`, o);
  }
  return segments;
}

/** A message shown twice by one device, whether as one server id twice or stored twice (two ids, one key). */
function findDuplicates(segments: Map<string, Observation[]>, max: number): Finding<Duplicate> {
  const examples: Duplicate[] = [];
  let count = 0;
  for (const list of segments.values()) {
    const byKey = new Map<string, string[]>();
    for (const o of list) pushTo(byKey, o.key, o.id);
    for (const [key, ids] of byKey) {
      if (ids.length < 2) continue;
      count++;
      const o = list[0]!;
      if (examples.length < max) examples.push({ device: deviceOf(o), view: o.view, key, ids });
    }
  }
  return { count, examples };
}

/** One seq of one stream (a user's inbox, a timeline) given to two different messages, as anyone saw it. */
function findSeqReuse(history: History, max: number): Finding<SeqReuse> {
  const streams = new Map<string, Map<number, Set<string>>>();
  const note = (stream: string, seq: number, id: string) => {
    if (seq <= 0) return;
    let seqs = streams.get(stream);
    if (!seqs) streams.set(stream, (seqs = new Map<number, Set<string>>()));
    let ids = seqs.get(seq);
    if (!ids) seqs.set(seq, (ids = new Set()));
    ids.add(id);
  };
  for (const o of history.observations) note(streamOf(o.user, o.stream), o.seq, o.id);
  for (const s of history.sends) if (s.ack) note(streamOf(s.sender, s.ack.stream), s.ack.seq, s.ack.id);
  const examples: SeqReuse[] = [];
  let count = 0;
  for (const [stream, seqs] of streams) {
    for (const [seq, ids] of seqs) {
      if (ids.size < 2) continue;
      count++;
      if (examples.length < max) examples.push({ stream, seq, ids: [...ids] });
    }
  }
  return { count, examples };
}

/**
 * Within a conversation, as one device shows it: a message B before a message A although A was acknowledged before
 * B was even sent. Real-time order, per conversation: what a sender saw acknowledged comes first for everyone.
 */
function findInversions(
  segments: Map<string, Observation[]>,
  sends: Map<string, SendRecord>,
  max: number,
): Finding<Inversion> {
  const examples: Inversion[] = [];
  let count = 0;
  for (const list of segments.values()) {
    const byConversation = new Map<string, Observation[]>();
    for (const o of list) {
      if (o.conversation === 'system') continue; // notices: no sending order to keep
      pushTo(byConversation, o.conversation, o);
    }
    for (const [conversation, entries] of byConversation) {
      // Walking back: the earliest acknowledgement among the entries shown after this one.
      let earliestLater: { atMs: number; key: string } | undefined;
      for (let i = entries.length - 1; i >= 0; i--) {
        const send = sends.get(entries[i]!.key);
        if (send && earliestLater && earliestLater.atMs < send.startedAtMs) {
          count++;
          const o = entries[i]!;
          if (examples.length < max)
            examples.push({
              device: deviceOf(o),
              view: o.view,
              conversation,
              shownFirst: o.key,
              acknowledgedBefore: earliestLater.key,
            });
        }
        const ack = send?.ack;
        if (ack && (!earliestLater || ack.atMs < earliestLater.atMs)) earliestLater = { atMs: ack.atMs, key: send.key };
      }
    }
  }
  return { count, examples };
}

/** An acknowledgement given while the inbox store was down (after a short grace for writes finished before). */
function findAcksWhileDown(history: History, graceMs: number, max: number): Finding<AckWhileDown> {
  const windows = history.faults.filter((f) => f.storeDown);
  const examples: AckWhileDown[] = [];
  let count = 0;
  for (const s of history.sends) {
    if (!s.ack) continue;
    const at = s.ack.atMs;
    const w = windows.find((f) => at > f.startedAtMs + graceMs && at < f.endedAtMs);
    if (!w) continue;
    count++;
    if (examples.length < max)
      examples.push({ key: s.key, ackAtMs: at, fault: w.name, downFromMs: w.startedAtMs, downToMs: w.endedAtMs });
  }
  return { count, examples };
}
