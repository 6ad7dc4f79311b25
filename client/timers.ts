/** Lets Node exit while the timer is pending (a page's timers are plain numbers and never hold anything up). */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
