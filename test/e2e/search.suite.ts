import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImClient, SearchOptions } from '../../client/sdk.ts';
import { NoticeApiClient, OperatorClient } from '../../client/notice-api.ts';
import { ImError } from '../../lib/errors.ts';
import { dmConversation, groupConversation } from '../../lib/conversation.ts';
import { connect, eventuallyAsync, type Target, type TestClient } from './harness.ts';

/** A running server for the search suite: its devices' gateways, one gateway's HTTP base, and the notice API. */
export interface SearchTarget extends Target {
  /** http://host:port of a gateway, for GET /v1/search. */
  httpUrl: string;
  noticeUrl: string;
  operatorToken: string;
}

const run = Date.now().toString(36);
export const u = (name: string) => `${name}-${run}`;

/** The ids of the hits of a search (one page). */
export async function found(client: ImClient, options: SearchOptions): Promise<string[]> {
  return (await client.search(options)).hits.map((h) => h.serverMsgId);
}

/** Waits until `client`'s search for `text` finds exactly `count` hits (writes become searchable quickly, not at once). */
export function eventuallyFinds(client: ImClient, text: string, count: number, extra: Partial<SearchOptions> = {}) {
  return eventuallyAsync(
    async () => (await found(client, { text, ...extra })).length === count,
    `${count} hit(s) for ${JSON.stringify(text)}`,
    20_000,
  );
}

/**
 * What search must do in every mode (issue 23): words in Latin and CJK text, edits, recalls, groups and leavers,
 * another user's messages never, hostile text, paging, the HTTP API and its limits, notices by their audience.
 */
export function searchSuite(name: string, start: () => Promise<SearchTarget>): void {
  describe(`message search (${name})`, () => {
    let server: SearchTarget;
    const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map(u) as [string, string, string, string];
    let a: TestClient;
    let b: TestClient;
    let c: TestClient;
    const http = (query: string, token?: string) =>
      fetch(`${server.httpUrl}/v1/search?${query}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });

    before(async () => {
      server = await start();
      [a, b, c] = await Promise.all([
        connect(server, alice, 'laptop'),
        connect(server, bob, 'phone'),
        connect(server, carol, 'pc'),
      ]);
    });
    after(async () => {
      for (const t of [a, b, c]) await t.client.close();
      await server.close();
    });

    /** An app of the notice API, made at first use. */
    let app: NoticeApiClient | undefined;
    const noticeApi = async () => {
      const operator = new OperatorClient({ baseUrl: server.noticeUrl, token: server.operatorToken });
      const made = await operator.createApp({ name: `search ${run}`, scopes: ['unicast', 'broadcast'] });
      app ??= new NoticeApiClient({ baseUrl: server.noticeUrl, appId: made.id, secret: made.secret });
      return app;
    };

    it('finds a message by a Latin word and by a CJK word, with the snippet highlighted', async () => {
      await a.client.send({ user: bob }, { text: 'The quick brown Fox jumps' });
      await a.client.send({ user: bob }, { text: '我们明天去北京开会' });
      await eventuallyFinds(b.client, 'fox', 1);
      const page = await b.client.search({ text: 'fox' });
      const [hit] = page.hits;
      assert.ok(hit);
      assert.equal(hit.conversation, dmConversation(alice, bob));
      assert.equal(hit.fromUser, alice);
      assert.equal(hit.kind, 'dm');
      assert.equal(hit.stream, 'inbox');
      assert.ok(hit.seq > 0);
      assert.deepEqual(
        hit.highlights.map(({ start, end }) => hit.snippet.slice(start, end)),
        ['Fox'],
      );
      await eventuallyFinds(b.client, '北京', 1);
      // The sender reads the conversation too.
      assert.equal((await found(a.client, { text: '北京' })).length, 1);
    });

    it('finds an edited message by its new text and not by its old', async () => {
      await a.client.send({ user: bob }, { text: 'lunch at noonish' }, 'm-edit');
      await eventuallyFinds(b.client, 'noonish', 1);
      await a.client.edit(
        { conversation: dmConversation(alice, bob), fromDevice: 'laptop', clientMsgId: 'm-edit' },
        'lunch at duskish',
      );
      await eventuallyFinds(b.client, 'duskish', 1);
      assert.deepEqual(await found(b.client, { text: 'noonish' }), []);
    });

    it('does not find a recalled message', async () => {
      await a.client.send({ user: bob }, { text: 'the zebra password' }, 'm-recall');
      await eventuallyFinds(b.client, 'zebra', 1);
      await a.client.recall({
        conversation: dmConversation(alice, bob),
        fromDevice: 'laptop',
        clientMsgId: 'm-recall',
      });
      await eventuallyFinds(b.client, 'zebra', 0);
      assert.deepEqual(await found(a.client, { text: 'zebra' }), []);
    });

    it("finds a group's messages for its members only, and never another user's conversation", async () => {
      const group = await a.client.createGroup('fruit', [bob]);
      await a.client.send({ group: group.groupId }, { text: 'bring a banana' });
      await eventuallyFinds(b.client, 'banana', 1, { conversation: groupConversation(group.groupId), kind: 'group' });
      assert.deepEqual(await found(c.client, { text: 'banana' }), []);
      assert.deepEqual(await found(c.client, { text: 'banana', conversation: groupConversation(group.groupId) }), []);
      // A 1:1 conversation carol is not in: not hers to find, by word, by sender or by naming it.
      const d = await connect(server, dave, 'pc');
      await d.client.send({ user: alice }, { text: 'pineapple for alice' });
      await eventuallyFinds(a.client, 'pineapple', 1);
      for (const options of [
        { text: 'pineapple' },
        { text: 'pineapple', fromUser: dave },
        { text: 'pineapple', conversation: dmConversation(alice, dave) },
        { text: 'fox' },
      ]) {
        assert.deepEqual(await found(c.client, options), [], JSON.stringify(options));
      }
      for (const hit of (await b.client.search({ text: 'a', limit: 50 })).hits) {
        assert.ok([dmConversation(alice, bob), groupConversation(group.groupId)].includes(hit.conversation));
      }
      await d.client.close();
    });

    it('lets a member who left find what they got while a member, and nothing sent after', async () => {
      const group = await a.client.createGroup('leavers', [bob, carol]);
      await a.client.send({ group: group.groupId }, { text: 'gecko before' });
      await eventuallyFinds(c.client, 'gecko', 1);
      await c.client.leaveGroup(group.groupId);
      await a.client.send({ group: group.groupId }, { text: 'gecko after' });
      await eventuallyFinds(b.client, 'gecko', 2);
      const left = await c.client.search({ text: 'gecko' });
      assert.deepEqual(
        left.hits.map((h) => h.snippet),
        ['gecko before'],
      );
    });

    it('answers hostile query text with hits or INVALID_ARGUMENT, and keeps serving', async () => {
      const hostile = [
        '*',
        'fox OR 1=1',
        '"fox',
        'fox AND NOT zebra',
        'text:fox^10',
        '/.*/',
        '((((',
        '\\',
        '__proto__',
        'constructor',
        '\u0000\u0001',
        '\ud800',
        '\u202e fox',
        'x'.repeat(10_000),
        Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '),
        '',
        '   ',
      ];
      for (const text of hostile) {
        try {
          const page = await b.client.search({ text });
          assert.ok(Array.isArray(page.hits));
        } catch (err) {
          assert.ok(err instanceof ImError, String(err));
          assert.equal(err.code, 'INVALID_ARGUMENT', `${JSON.stringify(text.slice(0, 20))}: ${err.message}`);
        }
      }
      for (const bad of [
        { limit: 51 },
        { kind: 'other' },
        { order: 'oldest' },
        { cursor: 'not-a-cursor' },
        { fromMs: -5 },
      ]) {
        await assert.rejects(b.client.search({ text: 'fox', ...(bad as Partial<SearchOptions>) }), {
          code: 'INVALID_ARGUMENT',
        });
      }
      assert.equal((await found(b.client, { text: 'fox' })).length, 1);
    });

    it('pages with a cursor, each hit once', async () => {
      for (let i = 0; i < 5; i++) await a.client.send({ user: carol }, { text: `kiwi number ${i}` });
      await eventuallyFinds(c.client, 'kiwi', 5);
      const seen: string[] = [];
      let cursor = '';
      for (let pages = 0; pages < 10; pages++) {
        const page = await c.client.search({ text: 'kiwi', limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.hits.map((h) => h.serverMsgId));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      assert.equal(seen.length, 5);
      assert.equal(new Set(seen).size, 5);
    });

    it('serves GET /v1/search: JSON for a token, 401 without one, 400 naming the parameter at fault', async () => {
      assert.equal((await http('q=fox')).status, 401);
      assert.equal((await http('q=fox', 'not-a-token')).status, 401);
      const res = await http(`q=fox&kind=dm&order=relevance`, server.token(bob, 'phone'));
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        hits: { conversation: string; from_user: string; snippet: string }[];
        next?: string;
      };
      assert.equal(body.hits.length, 1);
      assert.equal(body.hits[0]?.from_user, alice);
      assert.equal(body.next, undefined);
      const asCarol = (await (await http('q=fox', server.token(carol, 'pc'))).json()) as { hits: unknown[] };
      assert.deepEqual(asCarol.hits, []);
      for (const [query, field] of [
        ['q=fox&limit=abc', 'limit'],
        ['q=fox&limit=500', 'limit'],
        ['q=fox&kind=secret', 'kind'],
        ['q=fox&user=alice', 'user'],
        ['q=fox&q=bar', 'q'],
        [`q=${'y'.repeat(500)}`, 'text'],
      ] as const) {
        const bad = await http(query, server.token(bob, 'phone'));
        assert.equal(bad.status, 400, query);
        const error = (await bad.json()) as { code: string; field?: string };
        assert.deepEqual([error.code, error.field], ['INVALID_ARGUMENT', field], query);
      }
      const post = await fetch(`${server.httpUrl}/v1/search?q=fox`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token(bob, 'phone')}` },
      });
      assert.equal(post.status, 405);
    });

    it('limits searches per user: 429 RATE_LIMITED with Retry-After', async () => {
      const token = server.token(dave, 'pc');
      const answers = await Promise.all(Array.from({ length: 30 }, () => http('q=fox', token)));
      const limited = answers.filter((r) => r.status === 429);
      assert.ok(limited.length > 0, `statuses ${answers.map((r) => r.status).join(',')}`);
      assert.ok(Number(limited[0]?.headers.get('retry-after')) >= 1);
      assert.equal(((await limited[0]?.json()) as { code: string }).code, 'RATE_LIMITED');
      for (const answer of answers) if (!answer.bodyUsed) await answer.text();
      // Another user's budget is their own.
      assert.equal((await http('q=fox', server.token(bob, 'phone'))).status, 200);
    });

    it('finds a notice to a user by its addressee only, one to everyone by all, and neither once cancelled', async () => {
      const [bob, carol] = [u('n-bob'), u('n-carol')];
      const api = await noticeApi();
      const b = await connect(server, bob, 'phone');
      const c = await connect(server, carol, 'phone');
      const toBob = await api.send({
        message_id: `to-bob-${run}`,
        target: { users: [bob] },
        content: { title: 'Parcel shipped', body: 'your otter plushie is on its way' },
      });
      const toAll = await api.send({
        message_id: `to-all-${run}`,
        target: { all: true },
        content: { title: 'Festival', body: 'the lantern festival starts tonight' },
      });
      await eventuallyFinds(b.client, 'otter', 1, { kind: 'notice' });
      assert.deepEqual(await found(c.client, { text: 'otter' }), []);
      await eventuallyFinds(b.client, 'lantern', 1);
      await eventuallyFinds(c.client, 'lantern festival', 1, { conversation: 'system' });
      await api.cancel(toBob.id);
      await api.cancel(toAll.id);
      await eventuallyFinds(b.client, 'otter', 0);
      await eventuallyFinds(b.client, 'lantern', 0);
      await eventuallyFinds(c.client, 'lantern', 0);
      await b.client.close();
      await c.client.close();
    });
  });
}
