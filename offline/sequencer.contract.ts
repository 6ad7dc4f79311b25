import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Sequencer } from './sequencer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SequencerUnderTest {
  sequencer: Sequencer;
  /** The `inFlightTtlMs` the sequencer was built with (keep it short: tests wait it out). */
  inFlightTtlMs: number;
  close: () => Promise<void>;
  /**
   * Loses the fast, volatile state the way a restart of its store without persistence does (Redis FLUSHALL or a
   * restart). Adapters whose counters cannot be lost without losing the process (memory) leave it out.
   */
  lose?: () => Promise<void>;
}

/** The behaviour every Sequencer adapter promises. */
export function sequencerContract(
  adapter: string,
  setup: () => Promise<SequencerUnderTest>,
  capabilities: { losesState: boolean },
): void {
  describe(`Sequencer contract: ${adapter}`, () => {
    let s: Sequencer;
    let ttl: number;
    let close: () => Promise<void>;
    let lose: (() => Promise<void>) | undefined;
    before(async () => ({ sequencer: s, inFlightTtlMs: ttl, close, lose } = await setup()));
    after(() => close());
    const user = () => `u-${randomUUID().slice(0, 8)}`;

    /** Waits (bounded) until reads are not held back as a whole, e.g. just after a rebuild of the state. */
    const settled = async () => {
      const deadline = Date.now() + ttl + 3_000;
      while ((await s.lowestInFlight(user())) !== undefined) {
        assert.ok(Date.now() < deadline, 'reads of a user with nothing in flight are still held back');
        await sleep(50);
      }
    };
    const completeAll = (seqs: Map<string, number[]>) =>
      s.complete([...seqs].flatMap(([u, list]) => list.map((seq) => ({ user: u, seq }))));

    it('gives each user strictly increasing seqs, within one batch and across batches', async () => {
      const [a, b] = [user(), user()];
      const first = await s.allocate([a, b, a]);
      const second = await s.allocate([b, a]);
      for (const seq of [...first, ...second]) assert.ok(Number.isSafeInteger(seq) && seq > 0, `bad seq ${seq}`);
      assert.ok(first[0]! < first[2]! && first[2]! < second[1]!, `a: ${first[0]}, ${first[2]}, ${second[1]}`);
      assert.ok(first[1]! < second[0]!, `b: ${first[1]}, ${second[0]}`);
      assert.deepEqual(await s.allocate([]), []);
      await s.complete([
        { user: a, seq: first[0]! },
        { user: b, seq: first[1]! },
        { user: a, seq: first[2]! },
        { user: b, seq: second[0]! },
        { user: a, seq: second[1]! },
      ]);
    });

    it('never gives two concurrent callers the same seq', async () => {
      const [a, b] = [user(), user()];
      const batches = await Promise.all(Array.from({ length: 40 }, () => s.allocate([a, b])));
      for (const i of [0, 1]) {
        const seqs = batches.map((batch) => batch[i]!);
        assert.equal(new Set(seqs).size, seqs.length, 'a seq was handed out twice');
      }
      await completeAll(
        new Map([
          [a, batches.map((x) => x[0]!)],
          [b, batches.map((x) => x[1]!)],
        ]),
      );
    });

    it('holds readers before the lowest seq still in flight until it completes', async () => {
      await settled();
      const a = user();
      const [s1, s2, s3] = (await s.allocate([a, a, a])) as [number, number, number];
      assert.equal(await s.lowestInFlight(a), s1);
      await s.complete([{ user: a, seq: s2 }]);
      assert.equal(await s.lowestInFlight(a), s1);
      await s.complete([{ user: a, seq: s1 }]);
      assert.equal(await s.lowestInFlight(a), s3);
      await s.complete([{ user: a, seq: s3 }]);
      assert.equal(await s.lowestInFlight(a), undefined);
      await s.complete([{ user: a, seq: s3 }]); // completing twice is harmless
      assert.equal(await s.lowestInFlight(user()), undefined);
    });

    it("knows each user's head: the last seq handed out, or a bound before any", async () => {
      await settled();
      const [a, b] = [user(), user()];
      assert.ok((await s.head(a))! >= 0);
      const first = await s.allocate([a, b, a]);
      assert.equal(await s.head(a), first[2]);
      assert.equal(await s.head(b), first[1]);
      const [next] = await s.allocate([a]);
      assert.equal(await s.head(a), next);
      assert.equal(await s.head(b), first[1], 'another user is untouched');
      await s.complete([{ user: a, seq: next! }]);
      assert.equal(await s.head(a), next, 'completing moves nothing');
    });

    it('lets a seq whose writer died become a gap after inFlightTtlMs', async () => {
      await settled();
      const a = user();
      const [dead] = (await s.allocate([a])) as [number];
      assert.equal(await s.lowestInFlight(a), dead);
      await sleep(ttl + 150);
      assert.equal(await s.lowestInFlight(a), undefined);
      const [next] = (await s.allocate([a])) as [number];
      assert.ok(next > dead);
      await s.complete([{ user: a, seq: next }]);
    });

    it('keeps the epoch while nothing is lost', async () => {
      const epoch = await s.epoch();
      await s.complete([{ user: 'x', seq: (await s.allocate(['x']))[0]! }]);
      assert.equal(await s.epoch(), epoch);
    });

    // Adapters without such state (memory) lose their seqs only with the process, and a new process starts a new
    // epoch, so every client resyncs.
    if (!capabilities.losesState) return;
    it('after losing its fast state: never reuses a seq, holds reads back, keeps the epoch', async () => {
      assert.ok(lose, `${adapter} says it can lose its fast state but gives the test no way to lose it`);
      await settled();
      const users = [user(), user(), user()];
      const before = new Map<string, number[]>(users.map((u) => [u, []]));
      for (let i = 0; i < 5; i++) {
        (await s.allocate(users)).forEach((seq, j) => before.get(users[j]!)!.push(seq));
      }
      const pending = before.get(users[0]!)!.at(-1)!; // its writer is still writing when the state is lost
      const epoch = await s.epoch();
      await s.complete(before.get(users[1]!)!.map((seq) => ({ user: users[1]!, seq })));
      await lose();

      // Asked before anything else touched the lost state: held.
      const held = await s.lowestInFlight(users[0]!);
      assert.ok(held !== undefined && held <= pending, `reader may pass ${pending}: lowestInFlight = ${held}`);

      const after = await s.allocate([...users, ...users]);
      users.forEach((u, j) => {
        const highest = Math.max(...before.get(u)!);
        assert.ok(after[j]! > highest, `${u}: ${after[j]} after the loss is not above ${highest} from before`);
        assert.ok(after[j + users.length]! > after[j]!);
      });
      for (const u of users) {
        const bound = await s.lowestInFlight(u);
        assert.ok(bound !== undefined && bound <= pending, `reader may pass ${pending}: lowestInFlight = ${bound}`);
      }
      assert.equal(await s.epoch(), epoch, 'seqs stay comparable across the rebuild, so the epoch stays');

      await s.complete(after.map((seq, j) => ({ user: users[j % users.length]!, seq })));
      await settled(); // the hold ends by itself after inFlightTtlMs
      assert.equal(await s.lowestInFlight(users[0]!), undefined);
    });
  });
}
