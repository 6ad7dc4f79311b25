import { revocationStoreContract } from './revocation-store.contract.ts';
import { MemoryRevocationStore } from './revocation-store.memory.ts';

revocationStoreContract('memory', () =>
  Promise.resolve({ store: new MemoryRevocationStore(), close: () => Promise.resolve() }),
);
