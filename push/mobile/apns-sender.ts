import { createPrivateKey } from 'node:crypto';
import { Notification, Provider, type ResponseFailure } from '@parse/node-apn';
import type { DeviceTarget, MobilePush, PushSender, SendOutcome } from './push-sender.ts';

type Environment = DeviceTarget['environment'];

export interface ApnsOptions {
  /** The .p8 signing key as PEM text, its key id and the team id (token-based auth); all three or none. */
  key?: string;
  keyId?: string;
  teamId?: string;
  /** Where each environment's APNs is reached instead of Apple's hosts on 443 (tests: the fake). */
  endpoints?: Partial<Record<Environment, { address: string; port: number }>>;
  /** A CA (PEM) to trust instead of the system's roots (tests: the test CA). */
  ca?: string;
  /** How long one push waits for its answer; node-apn's default is 5 s. */
  requestTimeoutMs?: number;
}

/** APNs over HTTP/2 with a provider token, through @parse/node-apn: one connection per environment, opened on first use. */
export class ApnsSender implements PushSender {
  readonly platform = 'apns';
  private readonly token: { key: string; keyId: string; teamId: string };
  private readonly providers = new Map<Environment, Provider>();

  /** Throws when the credentials are missing or the key is not an ES256 (P-256) private key in PEM. */
  constructor(private readonly options: ApnsOptions) {
    const { key, keyId, teamId } = options;
    const missing = Object.entries({ key, keyId, teamId }).flatMap(([name, value]) => (value ? [] : [name]));
    if (missing.length > 0) throw new Error(`APNs credentials incomplete: no ${missing.join(', ')}`);
    if (!isP256PrivateKey(key!)) throw new Error('APNs key is not a P-256 private key in PEM (the .p8 file’s text)');
    this.token = { key: key!, keyId: keyId!, teamId: teamId! };
  }

  send(pushes: readonly MobilePush[]): Promise<SendOutcome[]> {
    const now = Date.now();
    return Promise.all(pushes.map((push) => this.sendOne(push, now)));
  }

  async close(): Promise<void> {
    const providers = [...this.providers.values()];
    this.providers.clear();
    await Promise.all(providers.map((provider) => new Promise<void>((resolve) => void provider.shutdown(resolve))));
  }

  private async sendOne(push: MobilePush, now: number): Promise<SendOutcome> {
    if (push.expireAtMs > 0 && push.expireAtMs <= now) return { kind: 'failed', reason: 'expired before it was sent' };
    const { failed } = await this.provider(push.target.environment).send(notification(push), push.target.token);
    return failed[0] ? outcome(failed[0]) : { kind: 'sent', providerId: push.id };
  }

  private provider(environment: Environment): Provider {
    let provider = this.providers.get(environment);
    if (!provider) {
      const endpoint = this.options.endpoints?.[environment];
      provider = new Provider({
        token: this.token,
        production: environment === 'production',
        ...(endpoint && { address: endpoint.address, port: endpoint.port }),
        ...(this.options.ca && { ca: [this.options.ca] }),
        ...(this.options.requestTimeoutMs && { requestTimeout: this.options.requestTimeoutMs }),
        // node-apn would resend a 429 or 5xx at once, up to 3 times (it never sees Retry-After); the caller backs off.
        connectionRetryLimit: 0,
      });
      this.providers.set(environment, provider);
    }
    return provider;
  }
}

function notification(push: MobilePush): Notification {
  const note = new Notification();
  note.id = push.id;
  note.topic = push.target.topic;
  note.collapseId = push.collapseId;
  if (push.expireAtMs > 0) note.expiry = Math.floor(push.expireAtMs / 1000);
  note.badge = push.badge;
  note.payload = { ...push.data };
  if (push.alert) {
    note.pushType = 'alert';
    note.priority = push.priority === 'high' ? 10 : 5;
    note.alert = { title: push.alert.title, body: push.alert.body };
    if (push.sound) note.sound = push.sound;
  } else {
    // Apple refuses priority 10 for a background push.
    note.pushType = 'background';
    note.priority = 5;
    note.contentAvailable = true;
  }
  return note;
}

/** Apple's answers as its documentation of status codes and reasons tells a provider to handle them. */
function outcome(failure: ResponseFailure): SendOutcome {
  const { status } = failure;
  // node-apn reports 500 InternalServerError and 403 ExpiredProviderToken in `error`, without a response body.
  const reason = failure.response?.reason ?? failure.error?.message ?? 'no answer';
  const said = `${status ?? 'no status'} ${reason}`;
  if (status === 410) {
    const since = failure.response?.timestamp;
    return { kind: 'dead-token', reason: since === undefined ? said : `${said} since ${since}` };
  }
  if (status === 400 && (reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic')) {
    return { kind: 'dead-token', reason: said };
  }
  // No status: the connection failed, the request timed out or was reset.
  if (typeof status !== 'number' || status === 429 || status >= 500) return { kind: 'retry', reason: said };
  // node-apn has made a new provider token; the next try carries it.
  if (status === 403 && reason === 'ExpiredProviderToken') return { kind: 'retry', reason: said };
  return { kind: 'failed', reason: said };
}

function isP256PrivateKey(pem: string): boolean {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}
