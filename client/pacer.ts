import { unref } from './timers.ts';

/** What the server lets one connection send per window (AuthResult's rate_limit_*). */
export interface ServerBudget {
  frames: number;
  bytes: number;
  windowMs: number;
}

/**
 * Keeps a client within its connection's budget, so the server never has to refuse it: frames beyond what this
 * window allows wait, in order, for the next one. It spends half the server's budget per window: the server's
 * windows and ours do not line up, and any one of its windows overlaps at most two of ours.
 */
export class Pacer {
  private budget: ServerBudget | undefined;
  private windowEndMs = 0;
  private frames = 0;
  private bytes = 0;
  private readonly waiting: Uint8Array[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly write: (frame: Uint8Array) => void) {}

  /** The budget of a new connection (none known: nothing is held back). */
  start(budget: ServerBudget | undefined): void {
    this.stop();
    this.budget = budget && budget.frames > 0 && budget.bytes > 0 && budget.windowMs > 0 ? budget : undefined;
  }

  /** Drops what waits: the connection is gone (requests fail with it, and sends go again on the next one). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.length = 0;
    this.windowEndMs = this.frames = this.bytes = 0;
  }

  send(frame: Uint8Array): void {
    if (this.waiting.length === 0 && this.take(frame.length)) return this.write(frame);
    this.waiting.push(frame);
    this.schedule();
  }

  private take(bytes: number): boolean {
    const budget = this.budget;
    if (!budget) return true;
    const now = Date.now();
    if (now >= this.windowEndMs) {
      this.windowEndMs = now + budget.windowMs;
      this.frames = this.bytes = 0;
    }
    // A frame alone over half the bytes still goes, in a window of its own.
    if (this.frames > 0 && (this.frames + 1 > budget.frames / 2 || this.bytes + bytes > budget.bytes / 2)) return false;
    this.frames++;
    this.bytes += bytes;
    return true;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        while (this.waiting.length > 0 && this.take(this.waiting[0]!.length)) this.write(this.waiting.shift()!);
        if (this.waiting.length > 0) this.schedule();
      },
      Math.max(1, this.windowEndMs - Date.now()),
    );
    unref(this.timer);
  }
}
