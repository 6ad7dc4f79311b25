import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded, type Embedded } from '../../app/embedded.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { ImClient, type ChatMessage, type ImClientOptions } from '../../client/sdk.ts';

/** What the end-to-end tests talk to: one embedded server, or a cluster with several gateways. */
export interface Target {
  /** The gateway a given device connects to (ws://host:port). */
  urlFor(user: string, device: string): string;
  token(user: string, device: string, ttlSec?: number): string;
  /** Deliver calls with room frames, summed over the gateways (a large group's message: one per gateway). */
  roomCalls(): Promise<number>;
  /** How many gateway nodes there are. */
  gatewayCount: number;
  close(): Promise<void>;
}

/** The room calls a gateway reports on its /healthz. */
export async function roomCallsOf(gatewayUrl: string): Promise<number> {
  const res = await fetch(`${gatewayUrl.replace(/^ws/, 'http')}/healthz`);
  return ((await res.json()) as { roomCalls: number }).roomCalls;
}

/** Every test process signs with its own dev key (cluster processes it starts inherit the variable). */
export function useTestDevKey(): void {
  process.env.IM_DEV_KEY_FILE ??= join(mkdtempSync(join(tmpdir(), 'im-test-')), 'dev-key.json');
}

/** The server under test: embedded mode on a free port with its own dev key, in memory unless `dataDir` is given. */
export async function startServer(overrides: Partial<Record<keyof Config, unknown>> = {}): Promise<Embedded & Target> {
  useTestDevKey();
  const server = await startEmbedded(
    loadConfig({ port: 0, drainTimeoutMs: 500, dataDir: ':memory:', ...overrides }),
    createLogger(process.env.IM_LOG_LEVEL ?? 'warn'),
  );
  return Object.assign(server, {
    urlFor: () => server.gateway.url,
    roomCalls: () => roomCallsOf(server.gateway.url),
    gatewayCount: 1,
  });
}

export interface TestClient {
  client: ImClient;
  messages: ChatMessage[];
  texts(): string[];
}

/** A connected SDK client that records every message it shows. */
export async function connect(
  server: Target,
  user: string,
  device: string,
  options: Partial<ImClientOptions> = {},
): Promise<TestClient> {
  const client = new ImClient({
    url: server.urlFor(user, device),
    token: () => server.token(user, device),
    backoff: { minMs: 50, maxMs: 500 },
    ...options,
  });
  const messages: ChatMessage[] = [];
  client.on('message', (m) => messages.push(m));
  client.on('error', () => undefined);
  await client.connect();
  return { client, messages, texts: () => messages.map((m) => Buffer.from(m.body).toString()) };
}

export async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `eventually` for a check that asks the server (a failed ask counts as not yet). */
export async function eventuallyAsync(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}
