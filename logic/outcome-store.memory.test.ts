import { outcomeStoreContract } from './outcome-store.contract.ts';
import { MemoryOutcomeStore } from './outcome-store.memory.ts';

outcomeStoreContract('memory', () =>
  Promise.resolve({ store: new MemoryOutcomeStore(), close: () => Promise.resolve() }),
);
