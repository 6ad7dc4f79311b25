/** A connection's budget per window: frames and bytes it may send, and refusals it may earn before it is closed. */
export interface FrameLimits {
  frames: number;
  bytes: number;
  windowMs: number;
}

/**
 * What to do with a frame: handle it; refuse it with an error frame; drop it without a word (refused already in
 * this window: a reply per frame would be a flood of our own); or close the connection, which keeps sending what
 * it is refused.
 */
export type FrameVerdict = 'take' | 'refuse' | 'drop' | 'close';

/**
 * How much one connection may send per window: a fixed window that starts at the first frame after the last one
 * ended. Every frame is charged, by count and by bytes, before anything else looks at it: text frames, oversized
 * and undecodable ones too. It lives on the connection, counted synchronously: a heartbeat is answered in the turn
 * it arrives, and an idle connection holds no limiter entry or timer (docs/decisions/0017).
 */
export class FrameBudget {
  private windowEndMs = 0;
  private frames = 0;
  private bytes = 0;
  /** Frames refused in this window, for any reason: past the frame budget of them the connection is closed. */
  private refused = 0;
  private rateLimited = 0;

  /** Charges one frame of `bytes`: 'take' while the window's budget lasts. */
  charge(nowMs: number, bytes: number, limits: FrameLimits): FrameVerdict {
    if (nowMs >= this.windowEndMs) {
      this.windowEndMs = nowMs + limits.windowMs;
      this.frames = this.bytes = this.refused = this.rateLimited = 0;
    }
    this.frames++;
    this.bytes += bytes;
    if (this.frames <= limits.frames && this.bytes <= limits.bytes) return 'take';
    this.rateLimited++;
    const verdict = this.refuse(limits);
    return verdict === 'refuse' && this.rateLimited > 1 ? 'drop' : verdict;
  }

  /** Counts a frame refused for what it is (text, too large, undecodable): 'close' once there were too many. */
  refuse(limits: FrameLimits): 'refuse' | 'close' {
    this.refused++;
    return this.refused > limits.frames ? 'close' : 'refuse';
  }

  /** Milliseconds until this window ends (a refused client's retry hint). */
  msLeft(nowMs: number): number {
    return Math.max(0, this.windowEndMs - nowMs);
  }
}
