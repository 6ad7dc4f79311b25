import { deviceTokenStoreContract } from './device-token-store.contract.ts';
import { MemoryDeviceTokenStore } from './device-token-store.memory.ts';

deviceTokenStoreContract('memory', () =>
  Promise.resolve({ store: new MemoryDeviceTokenStore(), close: () => Promise.resolve() }),
);
