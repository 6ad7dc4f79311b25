// GatewayRegistry contract against the real Redis of `npm run engines` (started if needed; never skipped).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { up } from '../infra/engines.ts';
import { gatewayRegistryContract } from './gateway-registry.contract.ts';
import { RedisGatewayRegistry } from './gateway-registry.redis.ts';

gatewayRegistryContract('redis', async () => {
  const prefix = `test:gateways:${randomUUID()}:`;
  const { redis: endpoint } = await up(['redis']);
  const redis = new Redis({ ...endpoint, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => undefined); // failures surface through the awaited commands
  await redis.ping(); // unreachable Redis fails the suite here
  return {
    registry: new RedisGatewayRegistry(redis, { prefix }),
    close: async () => {
      await redis.del(`${prefix}gateways`);
      await redis.quit();
    },
  };
});
