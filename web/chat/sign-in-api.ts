/** The server's answer to a sign-in that failed, in its own words. */
export class SignInError extends Error {}

const DEVICE_KEY = 'im.device';

/** This tab's device id: kept for the tab's life, so two tabs are two devices of one user. */
export function tabDevice(): string {
  let device = sessionStorage.getItem(DEVICE_KEY);
  if (!device) sessionStorage.setItem(DEVICE_KEY, (device = `web-${crypto.randomUUID().slice(0, 8)}`));
  return device;
}

/**
 * Asks this server for a dev token (the embedded server with its dev key, from this machine). Undefined where the
 * server has no dev sign-in (a cluster's gateway): the user pastes a token instead.
 */
export async function devToken(user: string, device: string): Promise<string | undefined> {
  const res = await fetch('/v1/dev/token', { method: 'POST', body: JSON.stringify({ user, device }) });
  if (res.status === 404) return undefined;
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string };
  if (!res.ok || !body.token) throw new SignInError(body.message ?? `sign-in refused: HTTP ${res.status}`);
  return body.token;
}
