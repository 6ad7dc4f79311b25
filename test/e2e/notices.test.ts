import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NoticeApiClient, OperatorClient } from '../../client/notice-api.ts';
import { ImClient } from '../../client/sdk.ts';
import { eventually, eventuallyAsync, startServer } from './harness.ts';
import { noticesSuite, type NoticeTarget } from './notices.suite.ts';

async function embedded(transport: 'direct' | 'grpc'): Promise<NoticeTarget> {
  const server = await startServer({ transport });
  return Object.assign(server, {
    noticeUrl: server.gateway.url.replace(/^ws/, 'http'),
    operatorToken: server.operator.token,
  });
}

noticesSuite('embedded, direct calls', () => embedded('direct'));
noticesSuite('embedded, gRPC between services', () => embedded('grpc'));

describe('notice priority lanes and metrics (embedded)', () => {
  let server: NoticeTarget;
  let api: NoticeApiClient;
  before(async () => {
    server = await embedded('direct');
    const operator = new OperatorClient({ baseUrl: server.noticeUrl, token: server.operatorToken });
    const app = await operator.createApp({
      name: 'lanes',
      scopes: ['unicast', 'multicast', 'read'],
      rate_limits: { requests_per_second: 1000, recipients_per_second: 100_000 },
    });
    api = new NoticeApiClient({ baseUrl: server.noticeUrl, appId: app.id, secret: app.secret });
  });
  after(() => server.close());

  it('a high-priority unicast does not wait behind a low-priority multicast being written', async () => {
    const bob = new ImClient({
      url: server.urlFor('lane-bob', 'phone'),
      token: () => server.token('lane-bob', 'phone'),
    });
    const received: number[] = [];
    bob.on('notice', () => received.push(Date.now()));
    await bob.connect();
    const lows = await Promise.all(
      Array.from({ length: 10 }, (_, r) =>
        api.send({
          message_id: `low-${r}`,
          target: { users: Array.from({ length: 10_000 }, (_, i) => `lane-${r}-${i}`) },
          content: { title: 'Catalogue', body: '' },
          priority: 'low',
        }),
      ),
    );
    const high = await api.send({
      message_id: 'high',
      target: { users: ['lane-bob'] },
      content: { title: 'Your code is 123456', body: '' },
      priority: 'high',
    });
    await eventually(() => received.length === 1, 'the high-priority notice');
    await eventuallyAsync(
      async () => (await Promise.all(lows.map((l) => api.get(l.id)))).every((l) => l.state === 'sent'),
      'the multicast written',
      60_000,
    );
    const lowsDone = await Promise.all(lows.map((l) => api.get(l.id)));
    const lastLow = Math.max(...lowsDone.map((l) => l.fired_at_ms));
    // The unicast was accepted after every multicast request, and reached the device before they were written.
    assert.ok(high.created_at_ms > Math.max(...lowsDone.map((l) => l.created_at_ms)));
    assert.ok(received[0]! < lastLow, `delivered at ${received[0]}, the multicast written at ${lastLow}`);
    assert.ok((await api.get(high.id)).fired_at_ms < lastLow);
    await bob.close();
  });

  it('/metrics counts notices by app, priority and outcome, and the time to the first online delivery', async () => {
    const text = await (await fetch(`${server.noticeUrl}/metrics`)).text();
    assert.match(text, /im_notices_total\{app="app_[0-9a-z]+",priority="high",outcome="sent"\} 1/);
    assert.match(text, /im_notices_total\{app="app_[0-9a-z]+",priority="low",outcome="accepted"\} 10/);
    assert.match(text, /im_notice_first_delivery_seconds_count\{priority="high"\} [1-9]/);
  });
});
