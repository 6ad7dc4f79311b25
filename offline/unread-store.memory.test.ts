import { unreadStoreContract } from './unread-store.contract.ts';
import { MemoryUnreadStore } from './unread-store.memory.ts';

unreadStoreContract('memory', () =>
  Promise.resolve({ store: new MemoryUnreadStore(5), close: () => Promise.resolve() }),
);
