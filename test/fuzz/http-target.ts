import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ErrorCode } from '../../lib/errors.ts';
import type { TokenVerifier } from '../../lib/token.ts';

/** An HTTP API handler as the gateway mounts them: true if it took the request. */
export type ApiHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface ApiRequest {
  method: string;
  /** Path with query. */
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface Answer {
  status: number;
  /** The error code of a refusal (`{code, message}` bodies), else undefined. */
  code: string | undefined;
}

/**
 * One request to a handler in-process: the request a readable stream of the body, the response a recorder of what
 * the handler writes. Thousands of cases take a second this way, where sockets (refusals close them) take ten.
 * A handler that neither answers nor destroys the response within 5 s fails the case: a hang is a finding.
 */
export function callApi(handler: ApiHandler, request: ApiRequest): Promise<Answer> {
  const req = Object.assign(Readable.from(request.body ? [Buffer.from(request.body)] : []), {
    method: request.method,
    url: request.url,
    headers: request.headers ?? {},
  }) as unknown as IncomingMessage;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in 5 s to ${request.method} ${request.url}`)), 5_000);
    let status = 0;
    const res = {
      headersSent: false,
      writeHead(code: number) {
        status = code;
        res.headersSent = true;
        return res;
      },
      end(body?: string | Uint8Array) {
        clearTimeout(timer);
        resolve(answerOf(status, body === undefined ? '' : Buffer.from(body).toString()));
      },
      destroy() {
        clearTimeout(timer);
        reject(new Error(`${request.method} ${request.url}: the response was destroyed after its headers`));
      },
    };
    if (!handler(req, res as unknown as ServerResponse)) {
      clearTimeout(timer);
      resolve({ status: 404, code: undefined });
    }
  });
}

function answerOf(status: number, text: string): Answer {
  if (status >= 200 && status < 300) return { status, code: undefined };
  const parsed = JSON.parse(text) as { code?: unknown };
  assert.equal(typeof parsed.code, 'string', `a ${status} without a code: ${text.slice(0, 200)}`);
  return { status, code: parsed.code as string };
}

/** Asserts an answer is a success or a refusal with one of `codes` (never INTERNAL, never another code). */
export function assertAnswered(answer: Answer, codes: readonly ErrorCode[]): void {
  if (answer.code === undefined) return;
  assert.ok(
    (codes as readonly string[]).includes(answer.code),
    `${answer.status} ${answer.code} is not one of ${codes.join(', ')}`,
  );
}

/**
 * A verifier that takes any token as alice's phone: these properties are about bodies, not tokens (those have
 * their own, lib/token.property.test.ts). The one place to adapt if the verifier's type changes.
 */
export const anyTokenIsAlice = (() => Promise.resolve({ sub: 'alice', dev: 'phone' })) as unknown as TokenVerifier;
