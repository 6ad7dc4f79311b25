import { tagStoreContract } from './tag-store.contract.ts';
import { MemoryTagStore } from './tag-store.memory.ts';

tagStoreContract('memory', () => Promise.resolve({ store: new MemoryTagStore(), close: () => Promise.resolve() }));
