import { inboxStoreContract } from './inbox-store.contract.ts';
import { MemoryInboxStore } from './inbox-store.memory.ts';

inboxStoreContract('memory', () => Promise.resolve({ store: new MemoryInboxStore(), close: () => Promise.resolve() }));
