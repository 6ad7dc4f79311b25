import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { RequestOptions } from 'node:https';

/**
 * An HTTPS agent that opens every connection to one address, whatever host the request names, keeping that host
 * for TLS (SNI and the certificate check): FCM and Google's token endpoint reached through an egress relay, or a
 * local fake in tests.
 */
export class RedirectAgent extends Agent {
  constructor(
    private readonly address: { host: string; port: number },
    options: AgentOptions = {},
  ) {
    super({ keepAlive: true, maxSockets: 64, ...options });
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void) {
    const servername = options.servername ?? options.host ?? undefined;
    return super.createConnection(
      { ...options, host: this.address.host, port: this.address.port, ...(servername ? { servername } : {}) },
      callback,
    );
  }
}
