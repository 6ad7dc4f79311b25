/**
 * At most one visible alert per (user, device, conversation) per window: the first message opens a window and is
 * alerted at once; later ones in it are only noted, and when the window ends the last of them is sent as a silent
 * update (the badge, no sound, no text). A burst of 100 messages in a second gives one alert and one update.
 */
export class Coalescer<T> {
  private readonly windows = new Map<string, { endsAt: number; openedBy: string; pending?: T }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    /** What makes two updates the same one (a job handed over again), which must not count twice. */
    private readonly idOf: (update: T) => string = () => '',
  ) {}

  /**
   * 'alert' when `key` has no open window (one opens); 'later' when it has one (`update` waits for its end);
   * 'repeat' when `update` is the one that opened the window, handed over again (nothing more to send).
   */
  take(key: string, update: T): 'alert' | 'later' | 'repeat' {
    const now = this.now();
    const open = this.windows.get(key);
    const id = this.idOf(update);
    if (open && open.endsAt > now) {
      if (id !== '' && id === open.openedBy) return 'repeat';
      open.pending = update;
      return 'later';
    }
    this.windows.set(key, { endsAt: now + this.windowMs, openedBy: id });
    return 'alert';
  }

  /** The waiting updates of windows that ended (each once); ended windows are forgotten. */
  due(): T[] {
    const now = this.now();
    const updates: T[] = [];
    for (const [key, window] of this.windows) {
      if (window.endsAt > now) continue;
      this.windows.delete(key);
      if (window.pending !== undefined) updates.push(window.pending);
    }
    return updates;
  }

  get size(): number {
    return this.windows.size;
  }
}
