import { generate } from 'selfsigned';

export interface TestTls {
  /** The CA's certificate (PEM): what a client under test trusts instead of the system's roots. */
  ca: string;
  /** The server's certificate (PEM), signed by the CA, and its private key. */
  cert: string;
  key: string;
}

/** The names the fake providers answer for: loopback, and the real hosts the libraries are told to reach. */
export const FAKE_HOSTS = [
  'localhost',
  'api.push.apple.com',
  'api.sandbox.push.apple.com',
  'fcm.googleapis.com',
  'oauth2.googleapis.com',
];

let cached: Promise<TestTls> | undefined;

/** One CA and one server certificate per process (generating them takes a moment). */
export function testTls(): Promise<TestTls> {
  cached ??= make();
  return cached;
}

async function make(): Promise<TestTls> {
  const ca = await generate([{ name: 'commonName', value: 'im-backend test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [{ type: 7, ip: '127.0.0.1' }, ...FAKE_HOSTS.map((value) => ({ type: 2 as const, value }))],
      },
    ],
  });
  return { ca: ca.cert, cert: server.cert, key: server.private };
}
