import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ImError } from '../lib/errors.ts';
import { newServerMsgId } from '../lib/ids.ts';
import type {
  IndexOp,
  ReadableScopes,
  SearchDoc,
  SearchHit,
  SearchIndex,
  SearchPage,
  SearchRequest,
} from './search-index.ts';

export interface SearchIndexUnderTest {
  index: SearchIndex;
  /** Waits until everything applied so far is searchable (Elasticsearch: a refresh; in process: nothing). */
  settle: () => Promise<void>;
  close: () => Promise<void>;
}

/** No scope beyond the user's own inbox. */
export const NO_SCOPES: ReadableScopes = { timelines: [], noticesToAll: false, noticeTags: [] };

/** The behaviour every SearchIndex adapter promises. Users and ids are fresh per test (an engine's index is shared). */
export function searchIndexContract(adapter: string, setup: () => Promise<SearchIndexUnderTest>): void {
  describe(`SearchIndex contract: ${adapter}`, () => {
    let index: SearchIndex;
    let settle: () => Promise<void>;
    let close: () => Promise<void>;
    before(async () => ({ index, settle, close } = await setup()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    let made = 0;
    /** Fresh names for one test: user('ann') is `ann-<run>-<n>`; conversations alike. */
    const fresh = () => {
      const n = ++made;
      return (name: string) => `${name}-${run}-${n}`;
    };
    let clock = 1_700_000_000_000;
    /** A 1:1 message from `from` to `to`, each with their own inbox seq. */
    const dm = (from: string, to: string, text: string, fields: Partial<SearchDoc> = {}): SearchDoc => ({
      id: newServerMsgId(),
      conversation: `dm:${[from, to].sort().join(':')}`,
      kind: 'dm',
      fromUser: from,
      sentAtMs: (clock += 1_000),
      text,
      readers: [
        { user: from, seq: made * 100 + 1 },
        { user: to, seq: made * 100 + 2 },
      ],
      ...fields,
    });
    const groupMessage = (conversation: string, from: string, members: string[], text: string): SearchDoc => ({
      id: newServerMsgId(),
      conversation,
      kind: 'group',
      fromUser: from,
      sentAtMs: (clock += 1_000),
      text,
      readers: members.map((user, i) => ({ user, seq: i + 1 })),
    });
    const timelineMessage = (conversation: string, from: string, seq: number, text: string): SearchDoc => ({
      id: newServerMsgId(),
      conversation,
      kind: 'group',
      fromUser: from,
      sentAtMs: (clock += 1_000),
      text,
      readers: [],
      timeline: { stream: conversation, seq },
    });
    const upsert = async (...docs: SearchDoc[]) => {
      await index.apply(docs.map((doc) => ({ op: 'upsert', doc })));
      await settle();
    };
    const apply = async (ops: IndexOp[]) => {
      await index.apply(ops);
      await settle();
    };
    const search = (user: string, text: string, more: Partial<SearchRequest> = {}): Promise<SearchPage> =>
      index.search({ user, scopes: NO_SCOPES, text, order: 'newest', limit: 20, ...more });
    const ids = async (user: string, text: string, more: Partial<SearchRequest> = {}) =>
      (await search(user, text, more)).hits.map((h) => h.id);
    const highlighted = (hit: SearchHit) => hit.snippet.highlights.map(([s, e]) => hit.snippet.text.slice(s, e));

    it('finds a message by a Latin word, whatever its case, with where the reader has it', async () => {
      const name = fresh();
      const [ann, bob] = [name('ann'), name('bob')];
      const doc = dm(ann, bob, 'Lunch at the Harbour Cafe tomorrow?');
      await upsert(doc, dm(ann, bob, 'something else entirely'));
      const page = await search(bob, 'harbour');
      assert.deepEqual(
        page.hits.map((h) => h.id),
        [doc.id],
      );
      const hit = page.hits[0]!;
      assert.equal(hit.conversation, doc.conversation);
      assert.equal(hit.stream, 'inbox');
      assert.equal(hit.seq, doc.readers[1]!.seq);
      assert.equal(hit.fromUser, ann);
      assert.equal(hit.sentAtMs, doc.sentAtMs);
      assert.equal(hit.kind, 'dm');
      assert.deepEqual(highlighted(hit), ['Harbour']);
      assert.equal((await search(ann, 'HARBOUR CAFE')).hits[0]?.seq, doc.readers[0]!.seq);
      assert.deepEqual(await ids(bob, 'harbour lighthouse'), [], 'every word must match');
      assert.deepEqual(await ids(bob, 'harb'), [], 'words, not parts of words');
    });

    it('finds Chinese and Japanese text by a word in it', async () => {
      const name = fresh();
      const [ann, bob] = [name('ann'), name('bob')];
      const chinese = dm(ann, bob, '今天天气很好，我们去公园吧');
      const japanese = dm(bob, ann, '東京は晴れです。明日も晴れるでしょう');
      await upsert(chinese, japanese);
      assert.deepEqual(await ids(bob, '天气'), [chinese.id]);
      assert.deepEqual(await ids(ann, '公园'), [chinese.id]);
      assert.deepEqual(await ids(ann, '東京'), [japanese.id]);
      assert.deepEqual(await ids(ann, '天气 東京'), []);
      const hit = (await search(bob, '天气')).hits[0]!;
      assert.ok(
        highlighted(hit).some((h) => h.includes('天气')),
        JSON.stringify(hit.snippet),
      );
    });

    it('finds an edited message by its new text and not by its old', async () => {
      const name = fresh();
      const [ann, bob] = [name('ann'), name('bob')];
      const doc = dm(ann, bob, 'meet at the station');
      await upsert(doc);
      await apply([{ op: 'edit', id: doc.id, text: 'meet at the museum' }]);
      assert.deepEqual(await ids(bob, 'museum'), [doc.id]);
      assert.deepEqual(await ids(bob, 'station'), []);
      // A replay of the original after the edit does not bring the old text back.
      await upsert(doc);
      assert.deepEqual(await ids(bob, 'station'), []);
      assert.deepEqual(await ids(bob, 'museum'), [doc.id]);
      // An edit of a message not indexed (e.g. never indexable) adds nothing.
      await apply([{ op: 'edit', id: newServerMsgId(), text: 'museum' }]);
      assert.deepEqual(await ids(bob, 'museum'), [doc.id]);
    });

    it('takes an edited message from a reader the edit did not reach (removed from the group since)', async () => {
      const name = fresh();
      const [ann, bob, cat] = [name('ann'), name('bob'), name('cat')];
      const doc = groupMessage(`group:${name('g')}`, ann, [ann, bob, cat], 'draft agenda');
      await upsert(doc);
      await apply([{ op: 'edit', id: doc.id, text: 'final agenda', readers: [ann, bob] }]);
      assert.deepEqual(await ids(bob, 'final'), [doc.id]);
      assert.deepEqual(await ids(cat, 'final'), []);
      assert.deepEqual(await ids(cat, 'agenda'), []);
    });

    it('never finds a recalled message again, even when its upsert is replayed', async () => {
      const name = fresh();
      const [ann, bob] = [name('ann'), name('bob')];
      const doc = dm(ann, bob, 'secret password hunter2');
      const kept = dm(ann, bob, 'the password policy');
      await upsert(doc, kept);
      await apply([{ op: 'delete', id: doc.id }]);
      assert.deepEqual(await ids(bob, 'password'), [kept.id]);
      await upsert(doc);
      await apply([{ op: 'edit', id: doc.id, text: 'password again' }]);
      assert.deepEqual(await ids(bob, 'password'), [kept.id]);
      assert.deepEqual(await ids(ann, 'hunter2'), []);
      // Deleting what was never indexed, or twice, is fine.
      await apply([
        { op: 'delete', id: doc.id },
        { op: 'delete', id: newServerMsgId() },
      ]);
    });

    it('finds nothing of a group for a user who is not in it', async () => {
      const name = fresh();
      const [ann, bob, eve] = [name('ann'), name('bob'), name('eve')];
      const small = `group:${name('small')}`;
      const large = `group:${name('large')}`;
      await upsert(groupMessage(small, ann, [ann, bob], 'quarterly numbers'));
      await upsert(timelineMessage(large, ann, 1, 'quarterly numbers for everyone'));
      assert.deepEqual(await ids(eve, 'quarterly'), []);
      // Naming the conversation grants nothing.
      assert.deepEqual(await ids(eve, 'quarterly', { conversation: small }), []);
      assert.deepEqual(await ids(eve, 'quarterly', { conversation: large }), []);
      // Another group's scope grants nothing either.
      const other = { ...NO_SCOPES, timelines: [{ conversation: `group:${name('other')}`, spans: [{}] }] };
      assert.deepEqual(await ids(eve, 'quarterly', { scopes: other }), []);
      assert.equal((await search(bob, 'quarterly')).hits.length, 1);
      const member = { ...NO_SCOPES, timelines: [{ conversation: large, spans: [{}] }] };
      const hits = (await search(bob, 'quarterly', { scopes: member })).hits;
      assert.equal(hits.length, 2);
      const onTimeline = hits.find((h) => h.conversation === large)!;
      assert.equal(onTimeline.stream, large);
      assert.equal(onTimeline.seq, 1);
    });

    it('lets a member who left find only what they could read', async () => {
      const name = fresh();
      const [ann, bob] = [name('ann'), name('bob')];
      // A small group: the messages in their inbox while they were a member, none after.
      const small = `group:${name('small')}`;
      const before = groupMessage(small, ann, [ann, bob], 'roadmap before');
      const afterLeaving = groupMessage(small, ann, [ann], 'roadmap after');
      // A large group: the span of their membership in its timeline, by seq.
      const large = `group:${name('large')}`;
      const timeline = [1, 2, 3, 4, 5].map((seq) => timelineMessage(large, ann, seq, `budget item ${seq}`));
      await upsert(before, afterLeaving, ...timeline);
      assert.deepEqual(await ids(bob, 'roadmap'), [before.id]);
      assert.deepEqual(await ids(ann, 'roadmap'), [afterLeaving.id, before.id]);
      const span = { ...NO_SCOPES, timelines: [{ conversation: large, spans: [{ fromSeq: 2, toSeq: 3 }] }] };
      assert.deepEqual(await ids(bob, 'budget', { scopes: span }), [timeline[2]!.id, timeline[1]!.id]);
      const byTime = { fromMs: timeline[3]!.sentAtMs, toMs: timeline[3]!.sentAtMs };
      const timeSpan = { ...NO_SCOPES, timelines: [{ conversation: large, spans: [byTime] }] };
      assert.deepEqual(await ids(bob, 'budget', { scopes: timeSpan }), [timeline[3]!.id]);
      const twoSpans = { ...NO_SCOPES, timelines: [{ conversation: large, spans: [{ toSeq: 1 }, { fromSeq: 5 }] }] };
      assert.deepEqual(await ids(bob, 'budget', { scopes: twoSpans }), [timeline[4]!.id, timeline[0]!.id]);
    });

    it('finds notices by audience: listed users, everyone, a tag since it was carried; never expired ones', async () => {
      const name = fresh();
      const [ann, bob] = [name('ann'), name('bob')];
      const app = name('app');
      const notice = (audience: string, text: string, fields: Partial<SearchDoc> = {}): SearchDoc => ({
        id: newServerMsgId(),
        conversation: 'system',
        kind: 'notice',
        fromUser: app,
        sentAtMs: (clock += 1_000),
        text,
        readers: [],
        timeline: { stream: 'system', seq: made },
        notice: { appId: app, audience, expireAtMs: 0 },
        ...fields,
      });
      const toAnn = notice('users', 'maintenance tonight for you', {
        readers: [{ user: ann, seq: 7 }],
        timeline: undefined,
      });
      const toAll = notice('all', 'maintenance tonight for all');
      const toTag = notice('tag:vip', 'maintenance tonight for vip');
      const expired = notice('all', 'maintenance expired', { notice: { appId: app, audience: 'all', expireAtMs: 1 } });
      await upsert(toAnn, toAll, toTag, expired);
      assert.deepEqual(await ids(ann, 'maintenance'), [toAnn.id]);
      assert.deepEqual(await ids(bob, 'maintenance'), []);
      const all = { ...NO_SCOPES, noticesToAll: true };
      assert.deepEqual(await ids(bob, 'maintenance', { scopes: all }), [toAll.id]);
      const vip = { ...all, noticeTags: [{ appId: app, tag: 'vip', sinceMs: toTag.sentAtMs }] };
      assert.deepEqual(await ids(bob, 'maintenance', { scopes: vip }), [toTag.id, toAll.id]);
      const tooLate = { ...NO_SCOPES, noticeTags: [{ appId: app, tag: 'vip', sinceMs: toTag.sentAtMs + 1 }] };
      assert.deepEqual(await ids(bob, 'maintenance', { scopes: tooLate }), []);
      const otherApp = { ...NO_SCOPES, noticeTags: [{ appId: name('other'), tag: 'vip', sinceMs: 0 }] };
      assert.deepEqual(await ids(bob, 'maintenance', { scopes: otherApp }), []);
      // A group timeline scope named "system" grants no notice.
      const fake = { ...NO_SCOPES, timelines: [{ conversation: 'system', spans: [{}] }] };
      assert.deepEqual(await ids(bob, 'maintenance', { scopes: fake }), []);
      assert.deepEqual(await ids(ann, 'maintenance', { kind: 'notice', scopes: all }), [toAll.id, toAnn.id]);
    });

    it("never returns another user's hit, whatever they search for", async () => {
      const name = fresh();
      const users = Array.from({ length: 6 }, (_, i) => name(`u${i}`));
      const docs: SearchDoc[] = [];
      for (let i = 0; i < 40; i++) {
        const [from, to] = [users[i % 6]!, users[(i * 7 + 1) % 6]!];
        if (from !== to) docs.push(dm(from, to, `shared word zebra number${i}`));
      }
      await upsert(...docs);
      for (const user of users) {
        const mine = new Set(docs.filter((d) => d.readers.some((r) => r.user === user)).map((d) => d.id));
        const found = await ids(user, 'zebra', { limit: 50 });
        assert.deepEqual(new Set(found), mine, user);
        for (const d of docs.filter((d) => !mine.has(d.id))) {
          const word = d.text.split(' ').at(-1)!;
          assert.deepEqual(await ids(user, word, { conversation: d.conversation, fromUser: d.fromUser }), []);
        }
      }
    });

    it('keeps one document when a batch is replayed, and merges the readers of chunks', async () => {
      const name = fresh();
      const [ann, bob, cat] = [name('ann'), name('bob'), name('cat')];
      const doc = dm(ann, bob, 'replayed batch kangaroo');
      const batch: IndexOp[] = [{ op: 'upsert', doc }];
      await apply(batch);
      await apply(batch);
      await apply([...batch, ...batch]);
      assert.deepEqual(await ids(bob, 'kangaroo'), [doc.id]);
      // A notice to listed users arrives in chunks: one document, every chunk's readers.
      const chunk = (user: string, seq: number): SearchDoc => ({ ...doc, readers: [{ user, seq }] });
      const notice = { ...doc, id: newServerMsgId(), readers: [{ user: ann, seq: 9 }] };
      await apply([{ op: 'upsert', doc: notice }]);
      await apply([{ op: 'upsert', doc: { ...chunk(cat, 3), id: notice.id } }]);
      await apply([{ op: 'upsert', doc: { ...chunk(cat, 3), id: notice.id } }]);
      assert.deepEqual(
        (await search(cat, 'kangaroo')).hits.map((h) => [h.id, h.seq]),
        [[notice.id, 3]],
      );
      assert.deepEqual(
        (await search(ann, 'kangaroo')).hits.map((h) => [h.id, h.seq]),
        [
          [notice.id, 9],
          [doc.id, doc.readers[0]!.seq],
        ],
      );
    });

    it('filters by conversation, sender, time and kind', async () => {
      const name = fresh();
      const [ann, bob, cat] = [name('ann'), name('bob'), name('cat')];
      const a = dm(ann, bob, 'filter penguin one');
      const b = dm(bob, ann, 'filter penguin two');
      const c = dm(ann, cat, 'filter penguin three');
      const g = groupMessage(`group:${name('g')}`, cat, [ann, cat], 'filter penguin four');
      await upsert(a, b, c, g);
      assert.deepEqual(await ids(ann, 'penguin'), [g.id, c.id, b.id, a.id]);
      assert.deepEqual(await ids(ann, 'penguin', { conversation: a.conversation }), [b.id, a.id]);
      assert.deepEqual(await ids(ann, 'penguin', { fromUser: ann }), [c.id, a.id]);
      assert.deepEqual(await ids(ann, 'penguin', { fromMs: b.sentAtMs, toMs: c.sentAtMs }), [c.id, b.id]);
      assert.deepEqual(await ids(ann, 'penguin', { kind: 'group' }), [g.id]);
      assert.deepEqual(await ids(ann, 'penguin', { kind: 'notice' }), []);
    });

    it('answers hostile query text with results or INVALID_ARGUMENT, never a crash', async () => {
      const name = fresh();
      const [ann, bob] = [name('ann'), name('bob')];
      await upsert(dm(ann, bob, 'ordinary words here OR there, "quoted" text\\with backslash'));
      const hostile = [
        '*:*',
        '*',
        'OR',
        'words OR',
        'AND NOT',
        '"unterminated',
        '"quoted"',
        '\\',
        'with\\backslash',
        'text:words',
        '_id:*',
        '(((((',
        'words~2',
        'wor*',
        '/re.*gex/',
        '{"query":{"match_all":{}}}',
        '\u0000\u0001\u0007words\u001b[31m',
        '\ud800 words \udfff',
        'words \ue000here\ue001',
        '   ',
        '',
        'x'.repeat(10_000),
        '天'.repeat(5_000),
        Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '),
        'a '.repeat(100),
      ];
      for (const text of hostile) {
        try {
          const page = await search(bob, text);
          assert.ok(Array.isArray(page.hits), JSON.stringify(text.slice(0, 40)));
          for (const hit of page.hits) assert.equal(typeof hit.id, 'string');
        } catch (err) {
          assert.ok(err instanceof ImError, `${JSON.stringify(text.slice(0, 40))}: ${String(err)}`);
          assert.equal(err.code, 'INVALID_ARGUMENT', JSON.stringify(text.slice(0, 40)));
        }
      }
      // Syntax is text: it finds what has the words, and match_all is not one.
      assert.equal((await search(bob, '*:*')).hits.length, 0);
      assert.equal((await search(bob, 'ordinary OR nothing')).hits.length, 0);
      assert.equal((await search(bob, '"quoted" ordinary')).hits.length, 1);
      for (const bad of ['x'.repeat(10_000), '', '   ']) {
        await assert.rejects(
          search(bob, bad),
          (err: unknown) => err instanceof ImError && err.code === 'INVALID_ARGUMENT',
        );
      }
      const refused = (err: unknown) => err instanceof ImError && err.code === 'INVALID_ARGUMENT';
      await assert.rejects(search(bob, 'words', { limit: 0 }), refused);
      await assert.rejects(search(bob, 'words', { limit: 1_000 }), refused);
      await assert.rejects(search(bob, 'words', { order: 'oldest' as 'newest' }), refused);
      await assert.rejects(search(bob, 'words', { kind: 'secret' as 'dm' }), refused);
      await assert.rejects(search(bob, 'words', { fromMs: -1 }), refused);
      await assert.rejects(search(bob, 'words', { cursor: 'not-a-cursor' }), refused);
    });

    for (const order of ['newest', 'relevance'] as const) {
      it(`pages ${order} first with a cursor, each hit once, the cursor bound to its user and query`, async () => {
        const name = fresh();
        const [ann, bob] = [name('ann'), name('bob')];
        const docs = Array.from({ length: 23 }, (_, i) =>
          dm(ann, bob, `paging walrus ${'walrus '.repeat(i % 4)}item${i}`, { sentAtMs: 1_600_000_000_000 + (i % 5) }),
        );
        await upsert(...docs);
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        let firstCursor: string | undefined;
        do {
          const page = await search(bob, 'walrus', { order, limit: 5, cursor });
          assert.ok(page.hits.length <= 5);
          seen.push(...page.hits.map((h) => h.id));
          cursor = page.next;
          firstCursor ??= cursor;
          assert.ok(++pages <= 10, 'paging does not end');
        } while (cursor);
        assert.equal(seen.length, docs.length);
        assert.deepEqual(new Set(seen), new Set(docs.map((d) => d.id)));
        if (order === 'newest') {
          const expected = [...docs].sort((a, b) => b.sentAtMs - a.sentAtMs || (a.id < b.id ? 1 : -1)).map((d) => d.id);
          assert.deepEqual(seen, expected);
        }
        const refused = (err: unknown) => err instanceof ImError && err.code === 'INVALID_ARGUMENT';
        await assert.rejects(search(ann, 'walrus', { order, limit: 5, cursor: firstCursor }), refused);
        await assert.rejects(search(bob, 'item1', { order, limit: 5, cursor: firstCursor }), refused);
        const tampered = `${firstCursor!.slice(0, -2)}${firstCursor!.endsWith('A') ? 'B' : 'A'}A`;
        await assert.rejects(search(bob, 'walrus', { order, limit: 5, cursor: tampered }), refused);
      });
    }
  });
}
