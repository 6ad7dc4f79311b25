import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @peculiar/x509 needs a Reflect polyfill loaded first (its README).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { roleOfCertificate, roleUri, type ServiceIdentity } from './service-identity.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;
const CA_VALIDITY_DAYS = 365;
const SERVICE_VALIDITY_DAYS = 90;
/** A set whose certificates expire within this long is made anew rather than reused. */
const RENEW_BEFORE_MS = 7 * DAY_MS;

/** A CA that signs service certificates: the local cluster's, or an ephemeral one held in memory only. */
export interface ServiceCa {
  cert: string;
  issue(role: string): Promise<ServiceIdentity>;
}

/** A new CA whose private key never leaves this object (embedded mode's loopback gRPC, tests). */
export async function newServiceCa(name = 'im local cluster CA'): Promise<ServiceCa> {
  const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return caOf(caCert, keys.privateKey);
}

function caOf(caCert: x509.X509Certificate, signingKey: webcrypto.CryptoKey): ServiceCa {
  const ca = caCert.toString('pem');
  return {
    cert: ca,
    issue: async (role) => {
      const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
      const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${role}`,
        issuer: caCert.subject,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Math.min(Date.now() + SERVICE_VALIDITY_DAYS * DAY_MS, caCert.notAfter.getTime())),
        signingAlgorithm: SIGNING,
        publicKey: keys.publicKey,
        signingKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension([
            { type: 'url', value: roleUri(role) },
            { type: 'dns', value: 'localhost' },
            { type: 'ip', value: '127.0.0.1' },
          ]),
          await x509.AuthorityKeyIdentifierExtension.create(caCert),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      return { role, ca, cert: cert.toString('pem'), key: await pemOfKey(keys.privateKey) };
    },
  };
}

async function pemOfKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
}

/** The files of one role's identity, as IM_TLS_CA_FILE, IM_TLS_CERT_FILE and IM_TLS_KEY_FILE name them. */
export interface IdentityPaths {
  tlsCaFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
}

/** The IM_* variables that hand a service process its identity's files. */
export function identityEnv(paths: IdentityPaths): Record<string, string> {
  return { IM_TLS_CA_FILE: paths.tlsCaFile, IM_TLS_CERT_FILE: paths.tlsCertFile, IM_TLS_KEY_FILE: paths.tlsKeyFile };
}

const pathsIn = (dir: string, role: string): IdentityPaths => ({
  tlsCaFile: join(dir, 'ca.crt'),
  tlsCertFile: join(dir, `${role}.crt`),
  tlsKeyFile: join(dir, `${role}.key`),
});

/**
 * The local cluster's CA and a certificate per role under `dir` (`npm run cluster`, the tests), made once and
 * reused while every file is there, signed by that CA, names its role and is good for another week; otherwise the
 * whole set is made anew (the CA's key is never written: nothing can sign another certificate with it later). Keys
 * are written 0600 in a 0700 directory. Several launchers may start at once (test
 * files in parallel): a set is written to a directory of its own and renamed into place, so each reads a whole set.
 */
export async function ensureServiceCerts(
  dir: string,
  roles: readonly string[],
): Promise<Record<string, IdentityPaths>> {
  const paths = Object.fromEntries(roles.map((role) => [role, pathsIn(dir, role)]));
  if (setIsValid(dir, roles)) return paths;
  const fresh = `${dir}.new-${randomBytes(6).toString('hex')}`;
  mkdirSync(fresh, { recursive: true, mode: 0o700 });
  const ca = await newServiceCa();
  writeFileSync(join(fresh, 'ca.crt'), ca.cert, { mode: 0o600 });
  for (const role of roles) {
    const identity = await ca.issue(role);
    writeFileSync(join(fresh, `${role}.crt`), identity.cert, { mode: 0o600 });
    writeFileSync(join(fresh, `${role}.key`), identity.key, { mode: 0o600 });
  }
  if (setIsValid(dir, roles)) {
    rmSync(fresh, { recursive: true, force: true }); // another launcher's set landed meanwhile
    return paths;
  }
  const old = `${dir}.old-${randomBytes(6).toString('hex')}`;
  if (existsSync(dir)) renameSync(dir, old);
  try {
    renameSync(fresh, dir);
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
    if (!setIsValid(dir, roles)) throw err;
  }
  rmSync(old, { recursive: true, force: true });
  return paths;
}

function setIsValid(dir: string, roles: readonly string[]): boolean {
  try {
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    const renewBy = Date.now() + RENEW_BEFORE_MS;
    if (!ca.ca || Date.parse(ca.validTo) < renewBy) return false;
    return roles.every((role) => {
      const { tlsCertFile, tlsKeyFile } = pathsIn(dir, role);
      const cert = new X509Certificate(readFileSync(tlsCertFile));
      return (
        cert.checkIssued(ca) &&
        cert.verify(ca.publicKey) &&
        Date.parse(cert.validTo) >= renewBy &&
        roleOfCertificate({ subjectaltname: cert.subjectAltName }) === role &&
        cert.checkPrivateKey(createPrivateKey(readFileSync(tlsKeyFile)))
      );
    });
  } catch {
    return false; // a file missing or unreadable
  }
}
