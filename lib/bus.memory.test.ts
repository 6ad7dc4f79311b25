import { busContract } from './bus.contract.ts';
import { MemoryBus } from './bus.memory.ts';

let n = 0;
busContract('memory', () => {
  const partitions = new Map<string, number>();
  const bus = new MemoryBus({ partitionsOf: (t) => partitions.get(t) ?? 1, retryDelayMs: 5 });
  return Promise.resolve({
    bus,
    newTopic: (count) => {
      const name = `t${++n}`;
      partitions.set(name, count);
      return Promise.resolve(name);
    },
  });
});
