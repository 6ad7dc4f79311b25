import { streamHeadsContract } from './stream-heads.contract.ts';
import { MemoryStreamHeads } from './stream-heads.memory.ts';

streamHeadsContract('memory', () =>
  Promise.resolve({ heads: new MemoryStreamHeads(), close: () => Promise.resolve() }),
);
