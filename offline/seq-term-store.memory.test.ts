import { seqTermStoreContract } from './seq-term-store.contract.ts';
import { MemorySeqTermStore } from './seq-term-store.memory.ts';

seqTermStoreContract('memory', () => {
  const store = new MemorySeqTermStore();
  return Promise.resolve({ open: () => store, close: () => Promise.resolve() });
});
