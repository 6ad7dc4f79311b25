// The end of a chaos run: every device syncs from its own key until it has everything acknowledged (or time is up),
// then reads its whole history again from scratch (an empty key). What each read is recorded for the checker.
import pLimit from 'p-limit';
import { messageKey, noticeKey } from './history.ts';
import type { Device } from './load.ts';
import type { Recorder } from './recorder.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_PAGES = 1_000;

/** User -> every key acknowledged for them (a reader waits for these; the checker decides what is missing). */
function expectedKeys(rec: Recorder): Map<string, Set<string>> {
  const expected = new Map<string, Set<string>>();
  for (const s of rec.sends) {
    if (!s.ack) continue;
    for (const user of s.audience ?? rec.members[s.conversation] ?? []) {
      let keys = expected.get(user);
      if (!keys) expected.set(user, (keys = new Set()));
      keys.add(s.key);
    }
  }
  return expected;
}

const hasAll = (have: Set<string>, want: Set<string> | undefined) => [...(want ?? [])].every((k) => have.has(k));

/**
 * Syncs each device from its key until it has shown every acknowledged message for its user. Reads hold back for a
 * while after Redis lost its counters (decision 0004), so this asks again until `deadline`.
 */
export async function syncFromKeys(devices: Device[], rec: Recorder, deadline: number, log: (l: string) => void) {
  const expected = expectedKeys(rec);
  const shown = new Map<string, Set<string>>(devices.map((d) => [`${d.user}/${d.device}`, new Set()]));
  let read = 0;
  const limit = pLimit(20);
  for (let round = 1; ; round++) {
    for (; read < rec.observations.length; read++) {
      const o = rec.observations[read]!;
      if (o.view === 'shown') shown.get(`${o.user}/${o.device}`)?.add(o.key);
    }
    const behind = devices.filter((d) => !hasAll(shown.get(`${d.user}/${d.device}`)!, expected.get(d.user)));
    if (behind.length === 0 || Date.now() > deadline) {
      log(`sync from each device's key: ${devices.length - behind.length}/${devices.length} devices complete`);
      return;
    }
    if (round % 5 === 1) log(`sync from each device's key: ${behind.length} devices still missing messages`);
    await Promise.all(behind.map((d) => limit(() => d.client.sync().catch(() => undefined))));
    await sleep(1_000);
  }
}

/** Every device reads its whole history with an empty key; a read missing something is tried again until `deadline`. */
export async function readFromScratch(devices: Device[], rec: Recorder, deadline: number, log: (l: string) => void) {
  const expected = expectedKeys(rec);
  const limit = pLimit(10);
  let complete = 0;
  await Promise.all(
    devices.map((d) =>
      limit(async () => {
        for (;;) {
          const entries = await readAll(d).catch(() => undefined);
          const keys = new Set(entries?.map((e) => e.key));
          if (entries && (hasAll(keys, expected.get(d.user)) || Date.now() > deadline)) {
            for (const e of entries) rec.saw(d.user, d.device, 'scratch', e.message);
            complete += hasAll(keys, expected.get(d.user)) ? 1 : 0;
            return;
          }
          if (Date.now() > deadline) return; // never read: every acknowledged message counts as missing there
          await sleep(1_000);
        }
      }),
    ),
  );
  log(`read from scratch: ${complete}/${devices.length} devices complete`);
}

async function readAll(d: Device) {
  const entries = [];
  let key = '';
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await d.client.getDiff(key, 500);
    for (const m of res.messages) {
      const k = m.notice ? noticeKey(m.notice.noticeId) : messageKey(m.fromUser, m.fromDevice, m.clientMsgId);
      entries.push({ key: k, message: m });
    }
    key = res.syncKey;
    if (!res.hasMore) return entries;
  }
  throw new Error(`more than ${MAX_PAGES} pages`);
}
