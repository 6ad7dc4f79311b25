// GatewayRegistry contract against the real Redis of `npm run engines` (started if needed; never skipped).
import { randomUUID } from 'node:crypto';
import { connectRedis } from '../test/redis.ts';
import { gatewayRegistryContract } from './gateway-registry.contract.ts';
import { RedisGatewayRegistry } from './gateway-registry.redis.ts';

gatewayRegistryContract('redis', async () => {
  const prefix = `test:gateways:${randomUUID()}:`;
  const redis = await connectRedis();
  return {
    registry: new RedisGatewayRegistry(redis, { prefix }),
    close: async () => {
      await redis.del(`${prefix}gateways`);
      await redis.quit();
    },
  };
});
