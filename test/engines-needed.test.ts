import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enginesNeeded } from './engines-needed.ts';

const ALL = ['cassandra', 'elasticsearch', 'kafka', 'redis'];

/**
 * A repository of the given files, by path from its root. Every `@` is dropped, so that the scan of this very file
 * (which `npm test` runs) does not read its fixtures as needs.
 */
function repo(files: Record<string, string>) {
  const defused = new Map(Object.entries(files).map(([k, v]) => [k.replaceAll('@', ''), v.replaceAll('@', '')]));
  return (path: string) => defused.get(path);
}

const needs = (files: Record<string, string>, entry = 'a/x.test.ts') => enginesNeeded(entry, repo(files));

describe('enginesNeeded', () => {
  it('needs nothing for a file that names no engine and imports only packages and plain code', () => {
    const n = needs({
      'a/x.test.ts': "imp@ort { Redis } from 'ioredis';\nimp@ort { f } from './f.ts';\nimp@ort './g';",
      'a/f.ts': "imp@ort type { Redis } from 'ioredis';\nexport const f = 1;",
      'a/g.ts': '',
    });
    assert.deepEqual(n.engines, []);
  });

  it('needs the engines named where it calls the engines helper, found through imports, sorted once each', () => {
    const n = needs({
      'a/x.test.ts':
        "imp@ort { engines } from '../test/engines.ts';\nimp@ort { h } from '../test/h.ts';\nawait eng@ines('redis');",
      'test/engines.ts': "imp@ort { up } from '../infra/eng@ines.ts';\nexport function eng@ines(...names) {}",
      'test/h.ts': "imp@ort { engines } from './engines.ts';\nexport const h = () => eng@ines(\"kafka\", 'redis');",
    });
    assert.deepEqual(n.engines, ['kafka', 'redis']);
    assert.ok(n.reasons.some((r) => r.startsWith('test/h.ts:')));
  });

  it('needs all four for the cluster, direct or behind a harness or spawned by path', () => {
    assert.deepEqual(needs({ 'a/x.test.ts': 'await start@TestCluster(3);' }).engines, ALL);
    const harness = needs({
      'a/x.test.ts': "imp@ort { s } from '../test/harness.ts';",
      'test/harness.ts': "imp@ort { start@Cluster } from '../app/clu@ster.ts';\nexport const s = start@Cluster;",
      'app/clu@ster.ts': '',
    });
    assert.deepEqual(harness.engines, ALL);
    const spawned = needs({
      'a/x.test.ts': "spawn('tsx', ['bin/run.ts']);",
      'bin/run.ts': "imp@ort { up } from '../infra/eng@ines.ts';",
      'infra/eng@ines.ts': '',
    });
    assert.deepEqual(spawned.engines, ALL);
  });

  it('does not follow type-only imports', () => {
    const n = needs({ 'a/x.test.ts': "imp@ort type { Cluster } from '../app/clu@ster.ts';\nexport const x = 1;" });
    assert.deepEqual(n.engines, []);
  });

  it('counts what it cannot tell as needing all four, with the reason', () => {
    const cases: Record<string, string>[] = [
      { 'a/x.test.ts': "imp@ort { up } from '../infra/eng@ines.ts';", 'infra/eng@ines.ts': '' },
      { 'a/x.test.ts': 'await eng@ines();' },
      { 'a/x.test.ts': 'await eng@ines(...names);' },
      { 'a/x.test.ts': "await eng@ines('mongo');" },
      { 'a/x.test.ts': "imp@ort { f } from './missing.ts';" },
      { 'a/x.test.ts': 'await imp@ort(name);' },
      { 'a/x.test.ts': 'const r = new Red@is({ port: 6379 });' },
      {},
    ];
    for (const files of cases) {
      const n = needs(files);
      assert.deepEqual(n.engines, ALL, JSON.stringify(files));
      assert.ok(n.reasons.length > 0);
    }
  });

  it('lets an engine client be when its engine is named', () => {
    const n = needs({ 'a/x.test.ts': "const { redis } = await eng@ines('redis');\nconst r = new Red@is(redis);" });
    assert.deepEqual(n.engines, ['redis']);
  });

  it('survives import cycles', () => {
    const n = needs({ 'a/x.test.ts': "imp@ort './y.ts';", 'a/y.ts': "imp@ort './x.test.ts';" });
    assert.deepEqual(n.engines, []);
  });
});
