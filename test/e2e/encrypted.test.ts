import { encryptedSuite } from './encrypted.suite.ts';
import { startServer } from './harness.ts';

for (const transport of ['direct', 'grpc'] as const) {
  encryptedSuite(`embedded, ${transport}`, () => startServer({ transport }));
}
