import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImClient } from '../../client/sdk.ts';
import { connect, eventually, type Target } from './harness.ts';
import { RawSocket } from './raw-socket.ts';

const execFileP = promisify(execFile);
const IMCTL = join(import.meta.dirname, '../../client/imctl.js');

/** The largest message body the servers under test accept (the default IM_MAX_BODY_BYTES). */
export const MAX_BODY_BYTES = 32 * 1024;

/**
 * What one user can do to another, or to itself, through ordinary use of the limits: big messages, many of them,
 * in every mode. User ids carry a per-run suffix because cluster mode keeps its data between runs.
 */
export function limitsSuite(label: string, setup: () => Promise<Target>): void {
  describe(`limits hold for every reader (${label})`, () => {
    const run = Date.now().toString(36);
    const u = (name: string) => `${name}-${run}`;
    let server: Target;
    before(async () => {
      server = await setup();
    });
    after(() => server.close());

    /** A body of the maximum size that says which message it is in its first bytes. */
    const bigText = (i: number) => `${String(i).padStart(4, '0')}:`.padEnd(MAX_BODY_BYTES, 'x');
    const indexOf = (body: Uint8Array) => Number(Buffer.from(body).subarray(0, 4).toString());
    const all = Array.from({ length: 50 }, (_, i) => i);

    it('50 messages of the maximum size lock nobody out: SDK, imctl, catch-up and HTTP sync get each whole', async () => {
      const [alice, bob] = [u('big-alice'), u('big-bob')];
      const sender = await connect(server, alice, 'laptop');
      for (const i of all) await sender.client.send({ user: bob }, { text: bigText(i) });
      await sender.client.close();

      // The SDK with its defaults (pages of 500): every connect pulls the whole backlog.
      const reader = await connect(server, bob, 'phone');
      assert.deepEqual(
        reader.messages.map((m) => indexOf(m.body)),
        all,
      );
      for (const m of reader.messages) assert.equal(m.body.length, MAX_BODY_BYTES, 'none is cut off');
      await reader.client.close();
      // The sender's own copies do not lock the sender out either.
      const again = await connect(server, alice, 'tablet');
      assert.equal(again.messages.length, 50);
      await again.client.close();

      // imctl sync with its defaults, page after page until has_more is false.
      const imctlSeen: number[] = [];
      let key = '';
      for (let pages = 0, more = true; more && pages < 60; pages++) {
        // The server's own token: a cluster trusts its auth's key, not imctl's dev key.
        const token = server.token(bob, 'cli');
        const args = ['sync', '--user', bob, '--device', 'cli', '--key', key, '--token', token];
        const page = await imctl(server.urlFor(bob, 'cli'), args);
        for (const m of page.messages) {
          assert.equal(m.text.length, MAX_BODY_BYTES);
          imctlSeen.push(Number(m.text.slice(0, 4)));
        }
        key = page.sync_key;
        more = page.has_more;
      }
      assert.deepEqual(imctlSeen, all);

      // A device that lets the server hand it what it missed (catch_up=1, the default) gets it in frames it admits.
      const raw = await RawSocket.open(server.urlFor(bob, 'watch'), server.token(bob, 'watch'));
      const handed: number[] = [];
      await eventually(
        () => {
          for (const f of raw.frames.splice(0)) {
            if (f.body?.$case === 'deliver') handed.push(...f.body.value.messages.map((m) => indexOf(m.body)));
          }
          return handed.length >= 50 || raw.closed !== undefined;
        },
        'the catch-up hand-over',
        20_000,
      );
      assert.equal(raw.closed, undefined, 'the connection stays open');
      assert.deepEqual(handed, all);
      raw.ws.close();

      // POST /v1/sync, JSON, with no limit (the server's default page).
      const httpSeen: number[] = [];
      let syncKey = '';
      for (let pages = 0, more = true; more && pages < 60; pages++) {
        const res = await fetch(`${server.urlFor(bob, 'http').replace(/^ws/, 'http')}/v1/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.token(bob, 'http')}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sync_key: syncKey }),
        });
        assert.equal(res.status, 200);
        const page = (await res.json()) as { messages: { text: string }[]; sync_key: string; has_more: boolean };
        httpSeen.push(...page.messages.map((m) => Number(m.text.slice(0, 4))));
        syncKey = page.sync_key;
        more = page.has_more;
      }
      assert.deepEqual(httpSeen, all);
    });

    it('a client that reconnects with a saved key keeps getting whole pages while big messages keep coming', async () => {
      const [carol, dave] = [u('big-carol'), u('big-dave')];
      const sender = await connect(server, carol, 'pc');
      const reader = await connect(server, dave, 'phone');
      for (const i of all.slice(0, 20)) await sender.client.send({ user: dave }, { text: bigText(i) });
      await eventually(() => reader.messages.length === 20, 'live delivery');
      const state = reader.client.state;
      await reader.client.close();
      for (const i of all.slice(20)) await sender.client.send({ user: dave }, { text: bigText(i) });
      const resumed = new ImClient({
        url: server.urlFor(dave, 'phone'),
        token: () => server.token(dave, 'phone'),
        state,
      });
      const seen: number[] = [];
      resumed.on('message', (m) => seen.push(indexOf(m.body)));
      await resumed.connect();
      assert.deepEqual(seen, all.slice(20));
      await resumed.close();
      await sender.client.close();
    });
  });
}

interface ImctlPage {
  messages: { text: string }[];
  sync_key: string;
  has_more: boolean;
}

/** `imctl sync` against the gateway at `url`, its JSON output parsed. */
async function imctl(url: string, args: string[]): Promise<ImctlPage> {
  const env = { ...process.env, IM_HOME: imctlHome, IM_SERVER: url };
  const { stdout } = await execFileP(process.execPath, [IMCTL, ...args], {
    env,
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as ImctlPage;
}

const imctlHome = mkdtempSync(join(tmpdir(), 'imctl-limits-'));
