import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FromChild, ToChild } from './server-child.ts';

const CHILD = join(import.meta.dirname, 'server-child.ts');
const ANSWER_MS = 10_000;
const STDERR_TAIL = 40;

export interface MemorySample {
  heapUsed: number;
  rss: number;
}

/** The embedded server under fuzzing, in a child process (server-child.ts): its address, tokens and memory. */
export class FuzzServer {
  /** Why the server went away, if it did: an exit nobody asked for is the worst finding. */
  exited: string | undefined;
  private readonly waiting = new Map<number, (m: FromChild) => void>();
  private nextId = 1;
  private stopping = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dataDir: string,
    /** The last lines the server wrote to stderr: what a crash said. */
    readonly stderr: readonly string[],
    readonly url: string,
    readonly operatorToken: string,
  ) {
    child.on('message', (m: FromChild) => {
      if (m.kind === 'ready') return;
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
    child.on('exit', (code, signal) => {
      if (!this.stopping) this.exited = `exited (${signal ?? `code ${code}`})`;
    });
  }

  static async start(): Promise<FuzzServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'im-fuzz-'));
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: { ...process.env, IM_FUZZ_DATA_DIR: dataDir, IM_LOG_LEVEL: process.env.IM_LOG_LEVEL ?? 'error' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(...chunk.toString().split('\n').filter(Boolean));
      stderr.splice(0, Math.max(0, stderr.length - STDERR_TAIL));
    });
    const ready = await new Promise<Extract<FromChild, { kind: 'ready' }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fuzz server: not ready in 60 s')), 60_000);
      child.on('message', (m: FromChild) => {
        if (m.kind !== 'ready') return;
        clearTimeout(timer);
        resolve(m);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`fuzz server exited (code ${code}) before it was ready:\n${stderr.join('\n')}`));
      });
    });
    return new FuzzServer(child, dataDir, stderr, ready.url, ready.operatorToken);
  }

  token(user: string, device: string): Promise<string> {
    return this.ask({ kind: 'token', id: 0, user, device }).then((m) => (m.kind === 'token' ? m.token : ''));
  }

  /** Heap after a full GC, and RSS, of the server process. */
  memory(): Promise<MemorySample> {
    return this.ask({ kind: 'memory', id: 0 }).then((m) =>
      m.kind === 'memory' ? { heapUsed: m.heapUsed, rss: m.rss } : { heapUsed: 0, rss: 0 },
    );
  }

  private ask(message: ToChild & { id: number }): Promise<FromChild> {
    if (this.exited) return Promise.reject(new Error(`fuzz server ${this.exited}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fuzz server: no answer to ${message.kind} in 10 s`)), ANSWER_MS);
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.child.send({ ...message, id });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.send({ kind: 'stop' } satisfies ToChild);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
