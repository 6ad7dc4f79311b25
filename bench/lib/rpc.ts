// Request/response over the IPC channel between the bench runner and its child processes (gateway, baseline
// server, client workers). Children are started with `node --import tsx <file>` and `serialization: 'advanced'`
// (structured clone), so typed arrays and nested objects cross without JSON.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { profileArgs } from '../../app/profile-args.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

interface Call {
  id: number;
  method: string;
  params: unknown;
}
interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}
interface Note {
  note: string;
  data: unknown;
}

/** What a child serves: method name to handler. */
export type Handlers = Record<string, (params: never) => unknown>;

type ParamsOf<H, M extends keyof H> = H[M] extends (params: infer P) => unknown ? P : never;
type ResultOf<H, M extends keyof H> = H[M] extends (params: never) => infer R ? Awaited<R> : never;

/** In a child: answer the parent's calls; exit when the parent goes away (so no orphans, even after kill -9). */
export function serve(handlers: Handlers): void {
  if (!process.send) throw new Error('this file is a bench child process: start it from bench/run.ts');
  process.on('message', (raw: Call) => {
    const handler = handlers[raw.method] as ((p: unknown) => unknown) | undefined;
    const reply = (r: Reply) => process.send?.(r);
    if (!handler) return reply({ id: raw.id, error: `no method ${raw.method}` });
    Promise.resolve()
      .then(() => handler(raw.params))
      .then(
        (result) => reply({ id: raw.id, result }),
        (err: unknown) => reply({ id: raw.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/** In a child: a one-way message to the parent (progress lines). */
export function notify(note: string, data: unknown): void {
  process.send?.({ note, data } satisfies Note);
}

export interface ChildOptions {
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Node flags before --import tsx (e.g. --expose-gc). */
  nodeArgs?: string[];
  /** Run the file with this bun binary instead of node (Bun runs TypeScript itself; IPC is JSON then). */
  bunPath?: string;
  /** Where the child's stdout/stderr lines go (default: kept, last 50 shown if it dies). */
  onLine?: (line: string) => void;
  onNote?: (note: string, data: unknown) => void;
}

/** A child process the runner calls into: `await child.call('open', {...})`. */
export class Child<H extends Handlers> {
  readonly proc: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly tail: string[] = [];
  private exited: string | undefined;

  constructor(
    readonly name: string,
    file: string,
    options: ChildOptions = {},
  ) {
    const [command, args] = options.bunPath
      ? [options.bunPath, [file]]
      : [process.execPath, [...profileArgs(), ...(options.nodeArgs ?? []), '--import', 'tsx', file]];
    this.proc = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Bun speaks Node's IPC in JSON only.
      serialization: options.bunPath ? 'json' : 'advanced',
    });
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > 50) this.tail.shift();
        options.onLine?.(`[${name}] ${line}`);
      });
    }
    this.proc.on('message', (msg: Reply | Note) => {
      if ('note' in msg) return options.onNote?.(msg.note, msg.data);
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(`${name}: ${msg.error}`));
      else p.resolve(msg.result);
    });
    this.proc.once('exit', (code, signal) => {
      this.exited = signal ?? `exit ${code}`;
      const why = new Error(`${name} ended (${this.exited}); its last lines:\n${this.tail.join('\n')}`);
      for (const p of this.pending.values()) p.reject(why);
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  /** Calls a method; rejects if the child dies or does not answer within `timeoutMs`. */
  call<M extends keyof H & string>(method: M, params: ParamsOf<H, M>, timeoutMs = 120_000): Promise<ResultOf<H, M>> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has ended (${this.exited})`));
    const id = this.nextId++;
    return new Promise<ResultOf<H, M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}.${method} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as ResultOf<H, M>)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.send({ id, method, params } satisfies Call);
    });
  }

  /** Asks the child to end (IPC disconnect), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.proc.connected) this.proc.disconnect();
    else this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
