import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFuzz } from './fuzz-run.ts';

// `npm run fuzz` in short: the same bursts, checks and memory bound against an embedded server in a child
// process (no engine), for 20 s with a seed that changes each day, so CI covers new inputs without flapping
// within a day. A failure names the seed: `npm run fuzz -- --seed <seed>` replays it.
const SEED = Math.floor(Date.now() / 86_400_000);

describe('npm run fuzz, a short run', () => {
  it('keeps the server up, answering, closing abusive connections cleanly and its heap flat', async () => {
    const result = await runFuzz({ durationMs: 20_000, seed: SEED });
    assert.deepEqual(result.findings, [], `seed ${SEED}`);
    assert.ok(result.ok, `seed ${SEED}: ${JSON.stringify(result.memory.trend)}`);
    assert.ok(result.bursts >= 3 && result.frames > 0 && result.http.requests > 0, `only ${result.bursts} bursts`);
    assert.equal(result.checks.passed, result.bursts, 'a fresh client could connect, send and sync after each burst');
    assert.equal(result.abusive.closedCleanly, result.abusive.opened);
  });
});
