import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from '../../app/cluster.ts';
import { NoticeApiClient, OperatorClient, type NoticeStatus } from '../../client/notice-api.ts';
import { ImClient } from '../../client/sdk.ts';
import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { eventually, eventuallyAsync, sleep, type Target } from './harness.ts';

/**
 * Notices with two logic processes, each running the scheduler: every notice fires once whichever sees it first,
 * and a firing whose process dies (kill -9) is finished by the other once its claim lapses, every recipient once.
 */
describe('cluster: notices fire exactly once across logic processes and kill -9', () => {
  let cluster: Cluster;
  let target: Target;
  let api: NoticeApiClient;
  /** The same app through the second logic process's notice API (for while the first is down). */
  let api2: NoticeApiClient;
  const run = Date.now().toString(36);
  const u = (name: string) => `${name}-${run}`;
  before(async () => {
    cluster = await startTestCluster({ IM_NOTICE_LEASE_MS: '2000' }, { logics: 2 });
    target = clusterTarget(cluster);
    const operator = new OperatorClient({ baseUrl: cluster.noticeUrl, token: cluster.operatorToken });
    const app = await operator.createApp({
      name: `crash ${run}`,
      scopes: ['unicast', 'multicast', 'read'],
      rate_limits: { requests_per_second: 1000, recipients_per_second: 10_000 },
    });
    api = new NoticeApiClient({ baseUrl: cluster.noticeUrls[0]!, appId: app.id, secret: app.secret });
    api2 = new NoticeApiClient({ baseUrl: cluster.noticeUrls[1]!, appId: app.id, secret: app.secret });
  });
  after(() => cluster.close());

  /** The notice ids in a user's inbox, read from the start with a fresh key. */
  const noticesOf = async (user: string) => {
    const client = new ImClient({
      url: target.urlFor(user, 'audit'),
      token: target.token(user, 'audit'),
      reconnect: false,
    });
    await client.connect();
    const ids: string[] = [];
    let key = '';
    for (let page = 0; page < 20; page++) {
      const res = await client.getDiff(key, 500);
      ids.push(...res.messages.flatMap((m) => (m.notice && !m.op ? [m.notice.noticeId] : [])));
      key = res.syncKey;
      if (!res.hasMore) break;
    }
    await client.close();
    return ids;
  };
  const sentAll = (notices: NoticeStatus[], through = api, ms = 20_000) =>
    eventuallyAsync(
      async () => (await Promise.all(notices.map((n) => through.get(n.id)))).every((n) => n.state === 'sent'),
      'every notice sent',
      ms,
    );

  it('20 notices due at the same moment, two schedulers: each fires once', async () => {
    const at = Date.now() + 1500;
    const notices = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.send({
          message_id: `race-${i}`,
          target: { users: [u(`race-${i}`), u('race-all')] },
          content: { title: `race ${i}`, body: '' },
          deliver_at_ms: at,
        }),
      ),
    );
    await sentAll(notices);
    await sleep(500);
    assert.deepEqual((await noticesOf(u('race-all'))).sort(), notices.map((n) => n.id).sort());
    for (const [i, n] of notices.entries()) assert.deepEqual(await noticesOf(u(`race-${i}`)), [n.id]);
  });

  it('a firing whose logic process is killed -9 mid-way is finished by the other: every recipient once', async () => {
    await cluster.kill('logic-2');
    // The first logic process dies after writing one chunk of the multicast; the second, back, takes over.
    await cluster.kill('logic');
    await cluster.start('logic', { IM_FAULT_KILL_AFTER_NOTICE_CHUNKS: '1' });
    const users = Array.from({ length: 1200 }, (_, i) => u(`crash-${i}`));
    const multicast = await api.send({ message_id: 'crash', target: { users }, content: { title: 'crash', body: '' } });
    await eventually(() => !cluster.isRunning('logic'), 'logic killed itself after a chunk');
    await cluster.start('logic-2');
    await sentAll([multicast], api2);
    for (const i of [0, 499, 500, 999, 1000, 1199]) {
      assert.deepEqual(await noticesOf(u(`crash-${i}`)), [multicast.id], `crash-${i} has it once`);
    }
    await cluster.start('logic');
  });

  it('a notice scheduled before every logic process is killed fires after they are back, once', async () => {
    const scheduled = await api.send({
      message_id: 'scheduled',
      target: { users: [u('sched')] },
      content: { title: 'scheduled', body: '' },
      deliver_at_ms: Date.now() + 1500,
    });
    await Promise.all([cluster.kill('logic'), cluster.kill('logic-2')]);
    await sleep(2000);
    await Promise.all([cluster.start('logic'), cluster.start('logic-2')]);
    await sentAll([scheduled]);
    await sleep(500);
    assert.deepEqual(await noticesOf(u('sched')), [scheduled.id]);
  });
});
