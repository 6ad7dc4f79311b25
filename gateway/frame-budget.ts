/**
 * How many frames one connection may send per window: a fixed window that starts at the first frame after the
 * last one ended. It lives on the connection, counted synchronously: a heartbeat is answered in the turn it
 * arrives, and an idle connection holds no limiter entry or timer (docs/decisions/0017).
 */
export class FrameBudget {
  private windowEndMs = 0;
  private used = 0;

  /** Takes one frame's place; false once `frames` were taken in this window. */
  take(nowMs: number, frames: number, windowMs: number): boolean {
    if (nowMs >= this.windowEndMs) {
      this.windowEndMs = nowMs + windowMs;
      this.used = 0;
    }
    this.used++;
    return this.used <= frames;
  }
}
