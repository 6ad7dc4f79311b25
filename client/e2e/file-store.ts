import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseState, serializeState, type E2eState, type E2eStore } from './state.ts';

/** A device's keys and sessions in one file (mode 0600), replaced atomically at every save. Used by imctl. */
export class FileE2eStore implements E2eStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  async load(): Promise<E2eState | undefined> {
    try {
      return parseState(await readFile(this.path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`${this.path}: cannot read the device's end-to-end keys: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  save(state: E2eState): Promise<void> {
    const text = serializeState(state);
    // One write at a time, in order: the last save wins.
    this.writing = this.writing.then(async () => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    return this.writing;
  }
}
