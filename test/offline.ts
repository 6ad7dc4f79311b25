import { Offline } from '../offline/index.ts';
import { MemoryInboxStore } from '../offline/inbox-store.memory.ts';
import { MemorySequencer } from '../offline/sequencer.memory.ts';
import type { Sequencer } from '../offline/sequencer.ts';
import type { InboxStore } from '../offline/inbox-store.ts';
import { MemoryStreamHeads } from '../offline/stream-heads.memory.ts';
import { MemoryUnreadStore } from '../offline/unread-store.memory.ts';

/** An Offline service on memory adapters, with the sequencer or inbox a test wants in place of the plain ones. */
export function memoryOffline(stores: { sequencer?: Sequencer; inbox?: InboxStore } = {}): Offline {
  return new Offline(
    stores.sequencer ?? new MemorySequencer(),
    stores.inbox ?? new MemoryInboxStore(),
    new MemoryUnreadStore(),
    new MemoryStreamHeads(),
  );
}
