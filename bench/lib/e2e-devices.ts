// Devices for measuring the client's end-to-end crypto in one process, without a server: each device is the SDK's
// EndToEnd over a memory store, and the key directory is the server's own KeyService over its memory adapter, called
// directly (what the gateway's key_upload/key_query frames reach). The directory's CPU is counted apart, so that the
// client's cost can be told from the server's.
import { EndToEnd, type KeyDirectoryClient } from '../../client/e2e/end-to-end.ts';
import { MemoryE2eStore } from '../../client/e2e/state.ts';
import { E2E_CONTENT_TYPE } from '../../lib/e2e-keys.ts';
import { MemoryKeyDirectory } from '../../logic/keys/key-directory.memory.ts';
import { KeyService } from '../../logic/keys/key-service.ts';
import { Message } from '../../proto/gen/im/v1/message.pb.ts';

/** CPU time (user + system) of this process, in µs. */
export function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** The server's key directory in this process; `serverUs` is the CPU its calls took. */
export class InProcessDirectory {
  private readonly service = new KeyService(new MemoryKeyDirectory());
  serverUs = 0;

  clientFor(user: string, device: string): KeyDirectoryClient {
    return {
      upload: (upload) => this.counted(() => this.service.upload({ user, device, upload })),
      query: (query) => this.counted(() => this.service.query({ user, device, query })),
    };
  }

  private async counted<T>(call: () => Promise<T>): Promise<T> {
    const t0 = cpuUs();
    try {
      return await call();
    } finally {
      this.serverUs += cpuUs() - t0;
    }
  }
}

export interface BenchDevice {
  user: string;
  device: string;
  e2e: EndToEnd;
  directory: KeyDirectoryClient;
}

/** A new device with its keys published. `deviceListTtlMs` long: steady-state sends do not ask for devices again. */
export async function benchDevice(
  dir: InProcessDirectory,
  user: string,
  device: string,
  deviceListTtlMs = 3_600_000,
): Promise<BenchDevice> {
  const e2e = await EndToEnd.open(new MemoryE2eStore(), { user, device }, { deviceListTtlMs });
  const directory = dir.clientFor(user, device);
  await e2e.publish(directory);
  return { user, device, e2e, directory };
}

/** What one seal produced: enough to make the stored message from it afterwards. */
export interface Sealed {
  from: BenchDevice;
  conversation: string;
  clientMsgId: string;
  body: Uint8Array;
}

let nextId = 1;

/** Seals one message; `sent()` is called at once, as the SDK does when the server has stored it. */
export async function seal(
  from: BenchDevice,
  conversation: string,
  readers: string[],
  body: Uint8Array,
): Promise<Sealed> {
  const clientMsgId = `c${nextId++}`;
  const s = await from.e2e.seal(from.directory, {
    conversation,
    readers,
    clientMsgId,
    contentType: 'text/plain',
    body,
  });
  s.sent();
  return { from, conversation, clientMsgId, body: s.body };
}

/** The sealed message as the server stores and delivers it. */
export function delivered(s: Sealed): Message {
  return Message.fromPartial({
    serverMsgId: `s${s.clientMsgId}`,
    conversation: s.conversation,
    fromUser: s.from.user,
    fromDevice: s.from.device,
    clientMsgId: s.clientMsgId,
    contentType: E2E_CONTENT_TYPE,
    body: Buffer.from(s.body),
  });
}

/** Opens every message on every device, in order; throws if one does not open to a body of the expected length. */
export function openAll(devices: BenchDevice[], messages: Message[], bodyBytes: number): void {
  for (const d of devices) {
    for (const m of messages) {
      if (d.e2e.open(m).body.length !== bodyBytes) throw new Error(`${d.user}/${d.device} opened a wrong body`);
    }
  }
}
