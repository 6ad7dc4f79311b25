import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { scheduleCheckPendingRequests } from './kafkajs-idle-fix.ts';

function queue(pending: unknown[], throttledUntil = -1) {
  const q = {
    pending,
    throttledUntil,
    throttleCheckTimeoutId: null as ReturnType<typeof setTimeout> | null,
    checks: 0,
    checkPendingRequests() {
      q.checks++;
    },
    scheduleCheckPendingRequests,
  };
  return q;
}

describe('kafkajs idle fix', () => {
  it("replaces kafkajs's RequestQueue.scheduleCheckPendingRequests", () => {
    const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
      prototype: { scheduleCheckPendingRequests: unknown };
    };
    assert.equal(RequestQueue.prototype.scheduleCheckPendingRequests, scheduleCheckPendingRequests);
  });

  it('arms no timer while nothing waits (kafkajs re-armed a 1 ms one forever)', async () => {
    const q = queue([]);
    q.scheduleCheckPendingRequests();
    assert.equal(q.throttleCheckTimeoutId, null);
    await sleep(30);
    assert.equal(q.checks, 0);
  });

  it('checks again after 10 ms while requests wait, or once a throttle ends', async () => {
    const waiting = queue(['request']);
    waiting.scheduleCheckPendingRequests();
    assert.notEqual(waiting.throttleCheckTimeoutId, null);
    waiting.scheduleCheckPendingRequests(); // one timer at a time
    await sleep(40);
    assert.equal(waiting.checks, 1);

    const throttled = queue(['request'], Date.now() + 80);
    throttled.scheduleCheckPendingRequests();
    await sleep(40);
    assert.equal(throttled.checks, 0, 'not before the throttle ends');
    await sleep(80);
    assert.equal(throttled.checks, 1);
  });
});
