import { mobilePushSuite } from './mobile-push.suite.ts';
import { startServer } from './harness.ts';

mobilePushSuite('embedded', async (settings) => {
  const server = await startServer({ ...settings });
  const url = server.gateway.url.replace(/^ws/, 'http');
  return Object.assign(server, {
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    adminUrl: url,
    operatorToken: server.operator.token,
  });
});
