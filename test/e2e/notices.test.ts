import { startServer } from './harness.ts';
import { noticesSuite, type NoticeTarget } from './notices.suite.ts';

async function embedded(transport: 'direct' | 'grpc'): Promise<NoticeTarget> {
  const server = await startServer({ transport });
  return Object.assign(server, {
    noticeUrl: server.gateway.url.replace(/^ws/, 'http'),
    operatorToken: server.operator.token,
  });
}

noticesSuite('embedded, direct calls', () => embedded('direct'));
noticesSuite('embedded, gRPC between services', () => embedded('grpc'));
