import { gatewayRegistryContract } from './gateway-registry.contract.ts';
import { MemoryGatewayRegistry } from './gateway-registry.memory.ts';

gatewayRegistryContract('memory', () =>
  Promise.resolve({ registry: new MemoryGatewayRegistry(), close: () => Promise.resolve() }),
);
