import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:https';
import {
  deleteApp,
  initializeApp,
  type App,
  type Credential,
  type FirebaseError,
  type GoogleOAuthAccessToken,
} from 'firebase-admin/app';
import { getMessaging, type Messaging, type TokenMessage } from 'firebase-admin/messaging';
import type { MobilePush, PushSender, SendOutcome } from './push-sender.ts';

export interface FcmOptions {
  /** The service account's fields (project_id, client_email, private_key); all three or none. */
  projectId?: string;
  clientEmail?: string;
  privateKey?: string;
  /**
   * Every connection (Google's OAuth token endpoint and FCM) goes through it: a proxy's agent, or in tests one that
   * reaches the fake. Default: keep-alive, at most 64 connections.
   */
  httpAgent?: Agent;
}

/** FCM's limit on one sendEach. */
const MAX_BATCH = 500;
const EXPIRED: SendOutcome = { kind: 'failed', reason: 'expired before it was sent' };

/** FCM HTTP v1 to Android devices through firebase-admin, with a service account's credentials. */
export class FcmSender implements PushSender {
  readonly platform = 'fcm';
  private readonly app: App;
  private readonly messaging: Messaging;
  private readonly ownAgent: Agent | undefined;

  /** Throws when the credentials are missing or the private key does not parse. */
  constructor(options: FcmOptions) {
    const { projectId, clientEmail, privateKey } = options;
    const missing = Object.entries({ projectId, clientEmail, privateKey }).flatMap(([k, v]) => (v ? [] : [k]));
    if (missing.length > 0) throw new Error(`FCM credentials incomplete: no ${missing.join(', ')}`);
    const key = rsaPrivateKey(privateKey!);
    if (!key) throw new Error('FCM private key is not an RSA private key in PEM (the service account’s private_key)');
    this.ownAgent = options.httpAgent ? undefined : new Agent({ keepAlive: true, maxSockets: 64 });
    const httpAgent = options.httpAgent ?? this.ownAgent!;
    const credential = new ServiceAccountCredential(clientEmail!, key, httpAgent);
    // A name of its own: firebase-admin keeps apps in a process-wide registry.
    this.app = initializeApp({ credential, projectId, httpAgent }, `im-push-fcm-${randomUUID()}`);
    this.messaging = getMessaging(this.app);
    // sendEach's default HTTP/2 transport opens its own connection per call and ignores httpAgent (no proxy, no
    // test endpoint); the HTTP/1.1 one goes through the agent and keeps its connections between calls.
    this.messaging.enableLegacyHttpTransport();
  }

  async send(pushes: readonly MobilePush[]): Promise<SendOutcome[]> {
    const now = Date.now();
    const outcomes = new Array<SendOutcome>(pushes.length);
    const due: number[] = [];
    pushes.forEach((push, i) => {
      if (push.expireAtMs > 0 && push.expireAtMs <= now) outcomes[i] = EXPIRED;
      else due.push(i);
    });
    for (let start = 0; start < due.length; start += MAX_BATCH) {
      const batch = due.slice(start, start + MAX_BATCH);
      try {
        const { responses } = await this.messaging.sendEach(batch.map((i) => message(pushes[i]!, now)));
        responses.forEach((response, j) => {
          outcomes[batch[j]!] = response.success
            ? { kind: 'sent', providerId: response.messageId }
            : outcome(response.error);
        });
      } catch (error) {
        for (const i of batch) outcomes[i] = { kind: 'retry', reason: `sendEach failed: ${String(error)}` };
      }
    }
    return outcomes;
  }

  async close(): Promise<void> {
    await deleteApp(this.app);
    this.ownAgent?.destroy();
  }
}

function message(push: MobilePush, now: number): TokenMessage {
  const ttl = push.expireAtMs > 0 ? Math.floor((push.expireAtMs - now) / 1000) * 1000 : undefined;
  return {
    token: push.target.token,
    // FCM has no badge outside a shown notification: the app reads it from data in both cases.
    data: { ...push.data, push_id: push.id, badge: String(push.badge) },
    android: {
      priority: push.priority,
      collapseKey: push.collapseId,
      ...(ttl !== undefined && { ttl }),
      ...(push.alert && {
        notification: {
          title: push.alert.title,
          body: push.alert.body,
          tag: push.collapseId,
          notificationCount: push.badge,
          ...(push.sound && { sound: push.sound }),
        },
      }),
    },
  };
}

const RETRY_CODES = new Set([
  'messaging/message-rate-exceeded', // QUOTA_EXCEEDED, RESOURCE_EXHAUSTED
  'messaging/device-message-rate-exceeded',
  'messaging/internal-error',
  'messaging/server-unavailable',
  'app/network-error',
  'app/network-timeout',
  // Fetching the OAuth token failed; the token endpoint's answer or the connection's error is in the message.
  'app/invalid-credential',
]);

/** firebase-admin's error for one message as FCM's documentation tells a sender to handle it. */
function outcome(error: FirebaseError | undefined): SendOutcome {
  const code = error?.code ?? 'unknown';
  const reason = `${code}: ${error?.message ?? 'no error given'}`;
  const status = error?.httpResponse?.status;
  if (code === 'messaging/registration-token-not-registered') return { kind: 'dead-token', reason };
  if (code === 'messaging/invalid-argument' && aboutToken(error!)) return { kind: 'dead-token', reason };
  if (RETRY_CODES.has(code) || status === 429 || (status !== undefined && status >= 500)) {
    const retryAfterMs = retryAfter(error?.httpResponse?.headers['retry-after']);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  return { kind: 'failed', reason };
}

/** INVALID_ARGUMENT is about the token (not the payload) when FCM names the field or says so. */
function aboutToken(error: FirebaseError): boolean {
  const data = error.httpResponse?.data as { error?: { details?: { fieldViolations?: { field?: string }[] }[] } };
  const fields = data?.error?.details?.flatMap((d) => d.fieldViolations ?? []).map((v) => v.field) ?? [];
  return fields.includes('message.token') || /registration token/i.test(error.message);
}

/** Retry-After in seconds or as an HTTP date, in ms from now. */
function retryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

const TOKEN_URL = 'https://oauth2.googleapis.com/token';
const MESSAGING_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/**
 * A service account's OAuth access token, fetched through the agent. firebase-admin's own cert() (14.5) loses its
 * agent on the way to google-auth-library, so its token requests would bypass a proxy and the test endpoint. The
 * grant is Google's JWT bearer flow as google-auth-library signs it: RS256, iss, scope, aud, an hour's exp.
 */
class ServiceAccountCredential implements Credential {
  constructor(
    private readonly clientEmail: string,
    private readonly key: KeyObject,
    private readonly agent: Agent,
  ) {}

  async getAccessToken(): Promise<GoogleOAuthAccessToken> {
    const iat = Math.floor(Date.now() / 1000);
    const claims = { iss: this.clientEmail, scope: MESSAGING_SCOPE, aud: TOKEN_URL, iat, exp: iat + 3600 };
    const unsigned = [{ alg: 'RS256', typ: 'JWT' }, claims].map((part) => base64url(JSON.stringify(part))).join('.');
    const assertion = `${unsigned}.${sign('sha256', Buffer.from(unsigned), this.key).toString('base64url')}`;
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    const { status, body } = await postForm(TOKEN_URL, form.toString(), this.agent);
    const token = JSON.parse(body) as Partial<GoogleOAuthAccessToken>;
    if (status !== 200 || typeof token.access_token !== 'string' || typeof token.expires_in !== 'number') {
      throw new Error(`the token endpoint answered ${status}: ${body}`);
    }
    return { access_token: token.access_token, expires_in: token.expires_in };
  }
}

function postForm(url: string, body: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) };
    const req = request(url, { method: 'POST', agent, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');

function rsaPrivateKey(pem: string): KeyObject | undefined {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'rsa' ? key : undefined;
  } catch {
    return undefined;
  }
}
