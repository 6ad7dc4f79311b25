import { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { E2E_CONTENT_TYPE } from '../../lib/e2e-keys.ts';
import { MemoryKeyDirectory } from '../../logic/keys/key-directory.memory.ts';
import { KeyService } from '../../logic/keys/key-service.ts';
import { EndToEnd, type KeyDirectoryClient } from './end-to-end.ts';
import { MemoryE2eStore, type E2eStore } from './state.ts';

/** The server's key directory (its service over the memory adapter), called directly, as the gateway's frames would. */
export class TestDirectory {
  readonly store = new MemoryKeyDirectory();
  private readonly service = new KeyService(this.store);

  clientFor(user: string, device: string): KeyDirectoryClient {
    return {
      upload: (upload) => this.service.upload({ user, device, upload }),
      query: (query) => this.service.query({ user, device, query }),
    };
  }

  /** A device's published keys as the directory holds them. */
  async published(user: string, device: string) {
    return (await this.store.devicesOf(user)).find((d) => d.device === device);
  }
}

/** A device under test: its crypto, its directory client and a counter for server ids. */
export interface TestDevice {
  user: string;
  device: string;
  e2e: EndToEnd;
  directory: KeyDirectoryClient;
  store: E2eStore;
}

export async function testDevice(
  dir: TestDirectory,
  user: string,
  device: string,
  store: E2eStore = new MemoryE2eStore(),
): Promise<TestDevice> {
  const e2e = await EndToEnd.open(store, { user, device }, { deviceListTtlMs: 0 });
  const directory = dir.clientFor(user, device);
  await e2e.publish(directory);
  return { user, device, e2e, directory, store };
}

let nextId = 1;

/** Seals a message from `from` and returns it as the server would store and deliver it. */
export async function sealed(
  from: TestDevice,
  conversation: string,
  readers: string[],
  text: string,
): Promise<Message> {
  const clientMsgId = `c${nextId}`;
  const s = await from.e2e.seal(from.directory, {
    conversation,
    readers,
    clientMsgId,
    contentType: 'text/plain',
    body: Buffer.from(text),
  });
  s.sent();
  return Message.fromPartial({
    serverMsgId: `s${nextId++}`,
    conversation,
    fromUser: from.user,
    fromDevice: from.device,
    clientMsgId,
    contentType: E2E_CONTENT_TYPE,
    body: Buffer.from(s.body),
  });
}

export function textOf(device: TestDevice, m: Message): string {
  return Buffer.from(device.e2e.open(m).body).toString();
}
