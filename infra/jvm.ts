// Locating the JDK and the JVM flags shared by the Java engines.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function javaTool(tool: 'java' | 'javac'): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, 'bin', tool))) return join(home, 'bin', tool);
  return tool;
}

let cachedMajor: number | undefined;

/** Major version of `java` (e.g. 17); throws a clear error when Java is missing. */
export function javaMajorVersion(): number {
  if (cachedMajor !== undefined) return cachedMajor;
  const result = spawnSync(javaTool('java'), ['-XshowSettings:properties', '-version'], { encoding: 'utf8' });
  if (result.error) {
    const hint =
      (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (apt-get install openjdk-17-jdk-headless)' : '';
    throw new Error(`cannot run java: ${result.error.message}${hint}`);
  }
  const out = `${result.stdout}${result.stderr}`; // -XshowSettings and -version print to stderr
  const match = /java\.specification\.version = (\d+)/.exec(out);
  if (!match?.[1]) throw new Error(`cannot determine the Java version from: ${out.slice(0, 200)}`);
  cachedMajor = Number(match[1]);
  if (cachedMajor < 17) throw new Error(`Java ${cachedMajor} found; the engines need Java 17`);
  return cachedMajor;
}

/**
 * Flags every engine JVM gets. C1-only JIT and the serial collector cut start-up CPU on a 2-core machine;
 * set IM_ENGINES_JVM_FAST_START=0 to use the JVM defaults (C2 + G1) for long-running or benchmark use.
 */
export function commonJvmFlags(engine: string, heap: string): string[] {
  const fastStart = process.env.IM_ENGINES_JVM_FAST_START !== '0';
  return [
    `-Dim.engine=${engine}`, // marker looked for in /proc/<pid>/cmdline
    `-Xms${heap}`,
    `-Xmx${heap}`,
    ...(fastStart ? ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] : ['-XX:+UseG1GC']),
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    '-Djava.net.preferIPv4Stack=true',
    '-Dfile.encoding=UTF-8',
  ];
}
