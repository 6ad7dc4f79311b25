import { groupStoreContract } from './group-store.contract.ts';
import { MemoryGroupStore } from './group-store.memory.ts';

groupStoreContract('memory', () => Promise.resolve({ store: new MemoryGroupStore(), close: () => Promise.resolve() }));
