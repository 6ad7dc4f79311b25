import { appStoreContract } from './app-store.contract.ts';
import { MemoryAppStore } from './app-store.memory.ts';

appStoreContract('memory', () => Promise.resolve({ store: new MemoryAppStore(), close: () => Promise.resolve() }));
