import { muteStoreContract } from './mute-store.contract.ts';
import { MemoryMuteStore } from './mute-store.memory.ts';

muteStoreContract('memory', () => Promise.resolve({ store: new MemoryMuteStore(), close: () => Promise.resolve() }));
