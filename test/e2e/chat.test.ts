import { chatSuite, LARGE_GROUP_ABOVE } from './chat.suite.ts';
import { startServer } from './harness.ts';

// Services wired as objects, and with every service-to-service call over loopback gRPC.
chatSuite('embedded, direct calls', () =>
  startServer({ transport: 'direct', smallGroupMaxMembers: LARGE_GROUP_ABOVE }),
);
chatSuite('embedded, gRPC between services', () =>
  startServer({ transport: 'grpc', smallGroupMaxMembers: LARGE_GROUP_ABOVE }),
);
