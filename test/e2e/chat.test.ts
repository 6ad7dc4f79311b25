import { CHAT_SUITE_CONFIG, chatSuite } from './chat.suite.ts';
import { startServer } from './harness.ts';

// Services wired as objects, and with every service-to-service call over loopback gRPC.
chatSuite('embedded, direct calls', () => startServer({ transport: 'direct', ...CHAT_SUITE_CONFIG }));
chatSuite('embedded, gRPC between services', () => startServer({ transport: 'grpc', ...CHAT_SUITE_CONFIG }));
