import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Embedded } from '../../app/embedded.ts';
import { OperatorClient, type AppInfo } from '../../client/notice-api.ts';
import type { NoticeEntry } from '../../client/notices.ts';
import { ImError } from '../../lib/errors.ts';
import { connect, eventually, startServer, type Target, type TestClient } from './harness.ts';

/**
 * The notice API as the operator asks it for a named app (the admin console's way: the operator's token, never an
 * app's signature): refused without the operator token, 404 for an unknown app, 403 for a revoked one, and for a
 * real app the same send, list, status and cancel as the app's own signed requests, with the app's scopes.
 */
describe('notices sent by the operator for an app (HTTP, one embedded server)', () => {
  let server: Embedded & Target;
  let baseUrl: string;
  let operator: OperatorClient;
  let app: AppInfo;
  let receiver: TestClient;
  const received: NoticeEntry[] = [];

  before(async () => {
    server = await startServer();
    baseUrl = server.gateway.url.replace(/^ws/, 'http');
    operator = new OperatorClient({ baseUrl, token: server.operator.token });
    app = await operator.createApp({ name: 'console app', scopes: ['unicast', 'read'] });
    receiver = await connect(server, 'op-rx', 'd1');
    receiver.client.on('notice', (n) => received.push(n));
  });
  after(async () => {
    await receiver?.client.close();
    await server?.close();
  });

  const notice = (messageId: string, extra: Record<string, unknown> = {}) => ({
    message_id: messageId,
    target: { users: ['op-rx'] },
    content: { title: `Title ${messageId}`, body: `Body ${messageId}` },
    ...extra,
  });

  const answer = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const res = await fetch(new URL(path, baseUrl), {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { code?: string; message?: string } };
  };

  it('refuses every route without the operator token, or with another (401 UNAUTHORIZED)', async () => {
    const base = `/v1/admin/apps/${app.id}/notices`;
    const routes: [string, string, unknown?][] = [
      ['POST', base, notice('n-unauth')],
      ['GET', base],
      ['GET', `${base}/ntc_00000000000000000000000000`],
      ['DELETE', `${base}/ntc_00000000000000000000000000`],
    ];
    const userToken = server.token('op-rx', 'd1');
    for (const [method, path, body] of routes) {
      const tries: Record<string, string>[] = [
        {},
        { authorization: 'Bearer not-the-token' },
        { authorization: `Bearer ${userToken}` },
      ];
      for (const headers of tries) {
        const { status, json } = await answer(method, path, headers, body);
        assert.equal(status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
        assert.equal(json.code, 'UNAUTHORIZED');
      }
    }
    assert.equal((await operator.listNotices(app.id)).notices.length, 0, 'nothing was sent');
  });

  it('answers 404 NOT_FOUND for an app that does not exist', async () => {
    for (const id of ['app_00000000000000000000', 'nonsense']) {
      await assert.rejects(operator.sendNotice(id, notice(`n-404-${id}`)), (err: ImError) => {
        assert.equal(err.code, 'NOT_FOUND');
        return true;
      });
      await assert.rejects(operator.listNotices(id), { code: 'NOT_FOUND' });
    }
  });

  it('sends, lists, reports and cancels for a real app, which then gets the notice', async () => {
    const sent = await operator.sendNotice(app.id, notice('n-1', { priority: 'high' }));
    assert.equal(sent.created, true);
    assert.equal(sent.app_id, app.id);
    assert.equal(sent.priority, 'high');
    await eventually(() => received.some((n) => n.noticeId === sent.id), 'the receiver gets the notice');
    assert.equal(received.find((n) => n.noticeId === sent.id)?.title, 'Title n-1');
    const again = await operator.sendNotice(app.id, notice('n-1'));
    assert.equal(again.id, sent.id, 'the same message_id answers with the first notice');
    assert.equal(again.created, false);

    const status = await operator.getNotice(app.id, sent.id);
    assert.equal(status.counts.targeted, 1);
    assert.deepEqual(
      (await operator.listNotices(app.id)).notices.map((n) => n.id),
      [sent.id],
    );
    const later = await operator.sendNotice(app.id, notice('n-later', { deliver_at_ms: Date.now() + 3_600_000 }));
    assert.equal(later.state, 'scheduled');
    assert.equal((await operator.cancelNotice(app.id, later.id)).state, 'cancelled');
    assert.equal((await operator.getNotice(app.id, later.id)).state, 'cancelled');
  });

  it("keeps the app's scopes: a broadcast by a unicast-only app is 403 FORBIDDEN", async () => {
    await assert.rejects(operator.sendNotice(app.id, { ...notice('n-all'), target: { all: true } }), {
      code: 'FORBIDDEN',
    });
  });

  it('answers 403 FORBIDDEN for a revoked app, and 404 for a notice of another app', async () => {
    const other = await operator.createApp({ name: 'other app', scopes: ['unicast', 'read'] });
    const theirs = await operator.sendNotice(other.id, notice('n-other'));
    await assert.rejects(operator.getNotice(app.id, theirs.id), { code: 'NOT_FOUND' });
    await operator.revokeApp(other.id);
    await assert.rejects(operator.sendNotice(other.id, notice('n-revoked')), { code: 'FORBIDDEN' });
    await assert.rejects(operator.getNotice(other.id, theirs.id), { code: 'FORBIDDEN' });
  });
});
