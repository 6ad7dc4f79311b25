// Which local engines a test file needs, told from source text alone: `npm test -- <files>` starts only those and
// `npm run test:unit` runs the files that need none. The scan reads the test file and, transitively, every file it
// imports by a relative path or names as a script path (a child process it starts). What it finds:
//   engines('redis', ...)                         (test/engines.ts) those engines
//   an import of infra/engines.ts                 all four: up(), restart() and endpoints are not told apart
//   startCluster, startTestCluster, app/cluster   all four: the cluster runs on every engine
// and what it cannot tell also counts as all four, so that no file is ever left out of a run silently:
//   engines() with no names or with anything but string literals, an import that does not resolve, an import()
//   of a computed specifier, an engine client built in test code while no engine is named.
import { posix } from 'node:path';
import { ENGINE_NAMES, type EngineName } from '../infra/engine-config.ts';

export interface Needs {
  /** Sorted, no duplicates; empty for a file that runs without any engine. */
  readonly engines: readonly EngineName[];
  /** Why each engine (or all of them) is needed, each reason naming the file it was found in. */
  readonly reasons: readonly string[];
}

/** Returns a file's source by its path from the repository root (posix separators), or undefined if missing. */
export type ReadSource = (path: string) => string | undefined;

/** Declares engines for its callers; its own import of infra/engines.ts is not a need. */
const ENGINES_HELPER = 'test/engines.ts';
const INFRA_ENGINES = 'infra/engines.ts';

const ENGINES_CALL = /\bengines\(([^)]*)\)/g;
const CLUSTER = /\bstart(?:Test)?Cluster\b|\bapp\/cluster\b/;
const COMPUTED_IMPORT = /\bimport\(\s*(?!['"])/;
/** Static imports and re-exports with a `from`, side-effect imports, literal dynamic imports. Not `import type`. */
const IMPORT =
  /\b(?:import|export)(?!\s+type\b)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
/** A whole string literal that looks like a script path: a child process may run it. */
const SCRIPT_PATH = /['"`]([\w@./-]+\.(?:ts|js|mjs))['"`]/g;
/** An engine client made in test code; harmless alone, but then some engine must have been named. */
const ENGINE_CLIENT =
  /\bnew Redis\(|\bconnectCassandra\(|from ['"](?:cassandra-driver|kafkajs|@elastic\/elasticsearch)['"]/;
const TEST_CODE = /\.test\.ts$|\.contract\.ts$|^test\/|^bench\//;
/** Comments that start a line: they may mention what they do not do. A trailing comment stays (more, not less). */
const COMMENTS = /^\s*\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm;
/** Erased at run time, so neither a need nor a path to follow. */
const TYPE_ONLY = /\b(?:import|export)\s+type\s[^;]*?\bfrom\s*['"][^'"]+['"]/g;

/** The engines named by one `engines(...)` argument list, or undefined when they cannot be read off. */
function namedEngines(args: string): EngineName[] | undefined {
  const parts = args
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (parts.length === 0) return undefined; // no names starts all four
  const names = parts.map((a) => /^['"](\w+)['"]$/.exec(a)?.[1]);
  return names.every((n): n is EngineName => n !== undefined && (ENGINE_NAMES as readonly string[]).includes(n))
    ? names
    : undefined;
}

function resolveFrom(file: string, spec: string, read: ReadSource): string | undefined {
  const path = posix.join(posix.dirname(file), spec);
  // As written; a .js name for a .ts source; no extension (generated code); a folder's index.
  const candidates = [path, path.replace(/\.js$/, '.ts'), `${path}.ts`, `${path}/index.ts`];
  return candidates.find((c) => read(c) !== undefined);
}

/** What one file asks for by itself, and the files it leads to. */
function scanOne(file: string, text: string, read: ReadSource) {
  const source = text.replace(COMMENTS, '').replace(TYPE_ONLY, '');
  const all: string[] = [];
  const named = new Map<EngineName, string>();
  const next: string[] = [];
  for (const [, args = ''] of source.matchAll(ENGINES_CALL)) {
    const names = namedEngines(args);
    const call = `the engines helper called with ${args.trim() || 'no names'}`;
    if (names === undefined) all.push(`${file}: ${call}, which names no engine that can be told`);
    else for (const n of names) named.set(n, `${file}: ${call}`);
  }
  const cluster = CLUSTER.exec(source);
  if (cluster) all.push(`${file}: ${cluster[0]} (the cluster runs on every engine)`);
  if (COMPUTED_IMPORT.test(source)) all.push(`${file}: a dynamic import of a computed specifier`);
  for (const m of source.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? '';
    if (!spec.startsWith('.')) continue; // packages start nothing by being imported
    const target = resolveFrom(file, spec, read);
    if (target === undefined) all.push(`${file}: import '${spec}' does not resolve`);
    else if (target === INFRA_ENGINES) all.push(`${file}: imports ${INFRA_ENGINES}`);
    else next.push(target);
  }
  for (const [, path = ''] of source.matchAll(SCRIPT_PATH)) {
    const target = [posix.join(posix.dirname(file), path), posix.normalize(path)].find((c) => read(c) !== undefined);
    if (target !== undefined && target !== INFRA_ENGINES) next.push(target);
  }
  const client = TEST_CODE.test(file) && ENGINE_CLIENT.test(source);
  return { all, named, next, client };
}

/** The engines `file` (a path from the repository root) needs, following what it imports. */
export function enginesNeeded(file: string, read: ReadSource): Needs {
  const entry = posix.normalize(file);
  const all: string[] = [];
  const named = new Map<EngineName, string>();
  const clients: string[] = [];
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    const source = read(path);
    if (source === undefined) {
      all.push(`${path}: not found`);
      continue;
    }
    const found = scanOne(path, source, read);
    all.push(...found.all);
    for (const [n, why] of found.named) if (!named.has(n)) named.set(n, why);
    if (found.client) clients.push(path);
    for (const target of found.next) {
      if (seen.has(target) || target === ENGINES_HELPER) continue;
      seen.add(target);
      queue.push(target);
    }
  }
  if (named.size === 0 && all.length === 0 && clients.length > 0)
    all.push(`${clients.join(', ')}: builds an engine client but names no engine`);
  if (all.length > 0) return { engines: [...ENGINE_NAMES].sort(), reasons: all };
  return { engines: [...named.keys()].sort(), reasons: [...named.values()] };
}
