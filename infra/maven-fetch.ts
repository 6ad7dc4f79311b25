// Fetches an engine's runtime jars from Maven Central with the pinned dependency plugin, once per
// pom content: the result lives in .engines/cache/<engine>-<version>/lib and is reused afterwards.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const FETCH_TIMEOUT_MS = Number(process.env.IM_ENGINE_FETCH_TIMEOUT_MS ?? 900_000);

/** `<engine.version>` from a pom's <properties>: the single place an engine version is written down. */
export function pomEngineVersion(pomFile: string): string {
  const match = /<engine\.version>\s*([^<\s]+)\s*<\/engine\.version>/.exec(readFileSync(pomFile, 'utf8'));
  if (!match?.[1]) throw new Error(`${pomFile} has no <engine.version> property`);
  return match[1];
}

export interface FetchSpec {
  engine: string;
  pomFile: string;
  /** .engines/cache/<engine>-<version>; jars go to <cacheDir>/lib */
  cacheDir: string;
  logFile: string;
  /** A jar file name that must be among the results (sanity check on the pom). */
  expectJar: string;
  onProgress?: (line: string) => void;
}

/** Returns the lib directory holding the jars; downloads only when the cache is missing or the pom changed. */
export async function fetchJars(spec: FetchSpec): Promise<string> {
  const libDir = join(spec.cacheDir, 'lib');
  const stamp = join(spec.cacheDir, '.complete');
  const pomHash = createHash('sha256').update(readFileSync(spec.pomFile)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === pomHash && existsSync(join(libDir, spec.expectJar))) {
    return libDir;
  }
  const tmpDir = join(spec.cacheDir, `lib.tmp-${process.pid}`);
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  mkdirSync(dirname(spec.logFile), { recursive: true });
  spec.onProgress?.(`[${spec.engine}] fetching jars from Maven Central (${spec.pomFile}), log: ${spec.logFile}`);

  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      await runMaven(spec, tmpDir);
      break;
    } catch (err) {
      // One retry covers a flaky download or two Maven processes racing on the same local repository.
      if (attempt >= 2) throw err;
      spec.onProgress?.(`[${spec.engine}] Maven failed, retrying once: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const jars = readdirSync(tmpDir).filter((f) => f.endsWith('.jar'));
  if (!jars.includes(spec.expectJar)) {
    throw new Error(`[${spec.engine}] Maven finished but ${spec.expectJar} is not among the ${jars.length} jars`);
  }
  rmSync(libDir, { recursive: true, force: true });
  renameSync(tmpDir, libDir);
  writeFileSync(stamp, `${pomHash}\n`);
  spec.onProgress?.(`[${spec.engine}] ${jars.length} jars ready in ${libDir}`);
  return libDir;
}

const SIZE_UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };

function runMaven(spec: FetchSpec, outDir: string): Promise<void> {
  const args = [
    '-B',
    '-Dstyle.color=never',
    '-f',
    spec.pomFile,
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    '-DincludeScope=runtime',
    `-DoutputDirectory=${outDir}`,
  ];
  return new Promise((resolve, reject) => {
    const log = createWriteStream(spec.logFile, { flags: 'w' });
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let files = 0;
    let jars = 0;
    let bytes = 0;
    let lastReport = 0;
    const report = (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastReport < 2000) return;
      lastReport = now;
      if (files > 0) {
        spec.onProgress?.(`[${spec.engine}] downloaded ${files} files (${jars} jars, ${(bytes / 1e6).toFixed(1)} MB)`);
      }
    };
    const onLine = (line: string) => {
      log.write(`${line}\n`);
      tail.push(line);
      if (tail.length > 40) tail.shift();
      // e.g. "[INFO] Downloaded from central: https://…/kafka_2.13-3.9.2.jar (6.1 MB at 9.8 MB/s)"
      const m = /Downloaded from [^:]+: (\S+) \(([\d.]+) (B|kB|KB|MB|GB)/.exec(line);
      if (m?.[1] && m[2] && m[3]) {
        files++;
        if (m[1].endsWith('.jar')) jars++;
        bytes += Number(m[2]) * (SIZE_UNITS[m[3]] ?? 1);
        report(false);
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    const timer = setTimeout(() => child.kill('SIGKILL'), FETCH_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      log.end();
      const hint =
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is Maven installed? apt-get install maven)' : '';
      reject(new Error(`[${spec.engine}] cannot run mvn: ${err.message}${hint}`));
    });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      log.end();
      report(true);
      if (code === 0) resolve();
      else {
        const why = sig ? `killed by ${sig}` : `exit code ${code}`;
        reject(
          new Error(`[${spec.engine}] mvn copy-dependencies failed (${why}); log ${spec.logFile}:\n${tail.join('\n')}`),
        );
      }
    });
  });
}
