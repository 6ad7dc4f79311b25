import { sequencerContract } from './sequencer.contract.ts';
import { MemorySequencer } from './sequencer.memory.ts';

const inFlightTtlMs = 300;
sequencerContract(
  'memory',
  () =>
    Promise.resolve({
      sequencer: new MemorySequencer(inFlightTtlMs),
      inFlightTtlMs,
      close: () => Promise.resolve(),
    }),
  { losesState: false },
);
