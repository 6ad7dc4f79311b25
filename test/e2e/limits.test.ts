import { startServer } from './harness.ts';
import { limitsSuite } from './limits.suite.ts';

limitsSuite('embedded, direct calls', () => startServer({ transport: 'direct' }));
limitsSuite('embedded, gRPC between services', () => startServer({ transport: 'grpc' }));
