/** What the embedded dev server allows besides its own origin: pages served from any port of this machine. */
export const DEV_ORIGINS: readonly string[] = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'];

/**
 * Whether a browser page from `origin` may open a WebSocket here. Native apps send no Origin and never reach this.
 * Allowed: the gateway's own origin (the page's host is the `host` the request was sent to), an entry of
 * `allowed` spelled exactly (`https://chat.example.com`), an entry with any port (`http://localhost:*`), or
 * anything when `allowed` holds `*`. Everything else is refused, so another site's page cannot use a visitor's
 * cookies or stored token against this server (cross-site WebSocket hijacking).
 */
export function originAllowed(origin: string, host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) and anything unreadable
  }
  if (host !== undefined && url.host === host.toLowerCase()) return true;
  return allowed.some((entry) => {
    if (!entry.endsWith(':*')) return entry === url.origin;
    return `${url.protocol}//${url.hostname}` === entry.slice(0, -2);
  });
}
