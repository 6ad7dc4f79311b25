import { keyDirectoryContract } from './key-directory.contract.ts';
import { MemoryKeyDirectory } from './key-directory.memory.ts';

keyDirectoryContract('memory', () =>
  Promise.resolve({ store: new MemoryKeyDirectory(), close: () => Promise.resolve() }),
);
