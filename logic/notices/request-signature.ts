import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { echo } from '../../lib/echo.ts';
import { ImError } from '../../lib/errors.ts';
import type { NonceStore } from './nonce-store.ts';

/**
 * How apps sign their notice requests (HMAC-SHA256 with a per-app secret: decision of issue 20). The string signed:
 *
 *   METHOD "\n" path-with-query "\n" timestamp "\n" nonce "\n" hex(sha256(body))
 *
 * METHOD upper case; path-with-query exactly as sent on the request line (no decoding or reordering); timestamp
 * in unix seconds, decimal, as in its header; hex lower case. The headers:
 *
 *   x-im-app        the app id: 1-64 characters of [A-Za-z0-9_.-]
 *   x-im-timestamp  unix seconds, decimal: accepted within ±300 s of the server's clock
 *   x-im-nonce      16-64 characters of [A-Za-z0-9_-], never used twice by one app while its timestamp is accepted
 *   x-im-signature  "v1=" + lower-case hex of HMAC-SHA256(secret, string signed)
 */
export const SIGNATURE_HEADERS = {
  app: 'x-im-app',
  timestamp: 'x-im-timestamp',
  nonce: 'x-im-nonce',
  signature: 'x-im-signature',
} as const;

export type SignatureHeaders = Record<(typeof SIGNATURE_HEADERS)[keyof typeof SIGNATURE_HEADERS], string>;

/** How far a request's timestamp may be from the server's clock, either way. */
export const SIGNATURE_WINDOW_MS = 300_000;

/**
 * How much longer than its timestamp stays accepted a nonce is remembered: covers clocks of verifying nodes that
 * differ (one behind accepts the timestamp a little longer than the one that recorded the nonce).
 */
export const NONCE_MARGIN_MS = 10_000;

export const APP_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const SIGNATURE = /^v1=([0-9a-f]{64})$/;
const METHOD = /^[A-Z]{1,16}$/;
/** A request target in origin form: printable ASCII, no spaces (the request line allows nothing else). */
const PATH = /^\/[\x21-\x7e]{0,4095}$/;

export type Secret = string | Uint8Array;

/** The string an app signs (see the top of this file). */
export function canonicalString(
  method: string,
  path: string,
  timestamp: string,
  nonce: string,
  body: Uint8Array,
): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return `${method}\n${path}\n${timestamp}\n${nonce}\n${bodyHash}`;
}

function hmac(secret: Secret, canonical: string): Buffer {
  return createHmac('sha256', secret).update(canonical).digest();
}

export interface SignInput {
  appId: string;
  secret: Secret;
  method: string;
  /** Path with query, exactly as it will be sent. */
  path: string;
  /** The body exactly as it will be sent (a string is sent as UTF-8). */
  body: Uint8Array | string;
  /** Clock in milliseconds (default Date.now). */
  now?: () => number;
  /** Default: 22 random base64url characters (128 bits). */
  nonce?: string;
}

/** The headers that sign a request (the reference client's side). Throws on an argument the server would refuse. */
export function signRequest(input: SignInput): SignatureHeaders {
  const method = input.method.toUpperCase();
  const nonce = input.nonce ?? randomBytes(16).toString('base64url');
  if (!APP_ID.test(input.appId)) throw new Error(`signRequest: app id ${echo(input.appId)} is not ${APP_ID.source}`);
  if (!METHOD.test(method)) throw new Error(`signRequest: method ${echo(method)} is not ${METHOD.source}`);
  if (!PATH.test(input.path)) throw new Error(`signRequest: path ${echo(input.path)} is not ${PATH.source}`);
  if (!NONCE.test(nonce)) throw new Error(`signRequest: nonce ${echo(nonce)} is not ${NONCE.source}`);
  const timestamp = String(Math.floor((input.now ?? Date.now)() / 1000));
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
  const signature = hmac(input.secret, canonicalString(method, input.path, timestamp, nonce, body)).toString('hex');
  return {
    [SIGNATURE_HEADERS.app]: input.appId,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: `v1=${signature}`,
  };
}

/** A request as received. Header names lower case, as in node's `req.headers`. */
export interface SignedRequest {
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  method: string;
  /** Path with query exactly as on the request line (node's `req.url`). */
  path: string;
  /** The raw body bytes, before any parsing. */
  body: Uint8Array;
}

export interface VerifyDeps {
  /** The app's secret, or undefined if no such app. */
  secretOf: (appId: string) => Promise<Secret | undefined>;
  nonces: NonceStore;
  /** Clock in milliseconds (default Date.now). */
  now?: () => number;
}

/**
 * The app id of a correctly signed, fresh, first-seen request; otherwise throws ImError UNAUTHORIZED naming what is
 * wrong (values quoted bounded). Checks, cheapest first: the headers' presence and form, the timestamp's window,
 * the app, the signature (constant-time), and last the nonce, so only correctly signed requests reach the nonce
 * store (a stranger cannot fill it). A nonce store that fails gives UNAVAILABLE: nothing passes unchecked.
 */
export async function verifySignature(request: SignedRequest, deps: VerifyDeps): Promise<string> {
  const appId = header(request, 'app', APP_ID);
  const timestamp = header(request, 'timestamp', TIMESTAMP);
  const nonce = header(request, 'nonce', NONCE);
  const signature = Buffer.from(SIGNATURE.exec(header(request, 'signature', SIGNATURE))![1]!, 'hex');
  const method = request.method.toUpperCase();
  if (!METHOD.test(method)) throw unauthorized(`method ${echo(request.method)} cannot be signed`);
  if (!PATH.test(request.path)) throw unauthorized(`path ${echo(request.path)} cannot be signed`);

  const nowMs = (deps.now ?? Date.now)();
  const signedAtMs = Number(timestamp) * 1000;
  if (Math.abs(nowMs - signedAtMs) > SIGNATURE_WINDOW_MS) {
    throw unauthorized(
      `${SIGNATURE_HEADERS.timestamp} ${timestamp} is more than ${SIGNATURE_WINDOW_MS / 1000} s from the server's ` +
        `clock (${Math.floor(nowMs / 1000)})`,
    );
  }

  const secret = await deps.secretOf(appId);
  if (secret === undefined) throw unauthorized(`unknown app ${echo(appId)}`);
  const expected = hmac(secret, canonicalString(method, request.path, timestamp, nonce, request.body));
  if (!timingSafeEqual(expected, signature)) throw unauthorized('signature does not match the request');

  // Remembered for as long as the timestamp stays accepted (and a margin): after that the window refuses a replay.
  const ttlMs = signedAtMs + SIGNATURE_WINDOW_MS + NONCE_MARGIN_MS - nowMs;
  let seen: boolean;
  try {
    seen = await deps.nonces.seen(appId, nonce, ttlMs);
  } catch (err) {
    throw new ImError('UNAVAILABLE', 'notices: nonce store unavailable', { cause: err });
  }
  if (seen) throw unauthorized(`${SIGNATURE_HEADERS.nonce} ${echo(nonce)} was already used`);
  return appId;
}

function header(request: SignedRequest, name: keyof typeof SIGNATURE_HEADERS, form: RegExp): string {
  const headerName = SIGNATURE_HEADERS[name];
  const value = request.headers[headerName];
  if (value === undefined) throw unauthorized(`${headerName} missing`);
  if (typeof value !== 'string') throw unauthorized(`${headerName} given more than once`);
  if (!form.test(value)) throw unauthorized(`${headerName} ${echo(value)} is not ${form.source}`);
  return value;
}

function unauthorized(message: string): ImError {
  return new ImError('UNAUTHORIZED', `notices: ${message}`);
}
