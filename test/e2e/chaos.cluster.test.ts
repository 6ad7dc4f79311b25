import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CheckReport } from '../chaos/checker.ts';
import type { FaultRecord } from '../chaos/history.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs `scripts/chaos.ts` (on its own engines, chaos/isolation.ts); resolves with its exit code and output. */
function chaos(args: string[]): Promise<{ code: number | null; output: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/chaos.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const keep = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('chaos: a short run of faults under load in cluster mode', () => {
  it(
    'kill -9 of logic and of a gateway, SIGSTOP of logic, kill -9 of Redis: nothing acknowledged is lost',
    { timeout: 10 * 60_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'im-chaos-test-'));
      // prettier-ignore
      const run = await chaos([
      '--faults', 'short', '--cycles', '1', '--duration', '4m', '--gap', '6s', '--tail', '10s',
      '--users', '10', '--think', '2s', '--pause', '5s', '--settle', '60s', '--out', out,
    ]);
      const tail = run.output.slice(-60).join('\n');
      const file = readdirSync(out).find((f) => f.endsWith('.json') && !f.endsWith('-history.json'));
      assert.ok(file, `the run wrote no result; its last lines:\n${tail}`);
      const result = JSON.parse(readFileSync(join(out, file), 'utf8')) as {
        figures: CheckReport & { faults: FaultRecord[] };
      };
      const r = result.figures;
      const zeros = {
        lost: r.lost.count,
        duplicates: r.duplicates.count,
        seqsReused: r.seqsReused.count,
        inversions: r.inversions.count,
        acksWhileStoreDown: r.acksWhileStoreDown.count,
      };
      assert.deepEqual(zeros, { lost: 0, duplicates: 0, seqsReused: 0, inversions: 0, acksWhileStoreDown: 0 }, tail);
      assert.deepEqual(
        r.faults.map((f) => f.name),
        ['kill -9 logic', 'kill -9 gateway-1', 'SIGSTOP logic 5 s', 'kill -9 redis'],
        tail,
      );
      assert.ok(r.acknowledged > 100, `only ${r.acknowledged} sends acknowledged\n${tail}`);
      for (const f of r.recovery) assert.notEqual(f.recoveredAfterMs, null, `${f.fault} never recovered\n${tail}`);
      assert.equal(run.code, 0, tail);
    },
  );
});
