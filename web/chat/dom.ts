export { el, fill, messageOf, type Attrs, type Child } from '../dom.ts';

/** A time of day for today's messages, a date and time for older ones. */
export function formatTime(ms: number, now = Date.now()): string {
  const at = new Date(ms);
  const sameDay = new Date(now).toDateString() === at.toDateString();
  return sameDay
    ? at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : at.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
