import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';

/**
 * What a service process presents on every gRPC connection between services (decision 0028): the cluster CA's
 * certificate (to verify its peers by), its own certificate, naming its role, and that certificate's private key,
 * all PEM.
 */
export interface ServiceIdentity {
  role: string;
  ca: string;
  cert: string;
  key: string;
}

const ROLE_URI_PREFIX = 'urn:im:service:';

/** The URI SAN that names a certificate's role: `urn:im:service:gateway`. */
export function roleUri(role: string): string {
  return ROLE_URI_PREFIX + role;
}

/**
 * The role a certificate names in its URI SAN (Node's `subjectaltname` text: `URI:urn:im:service:gateway, DNS:…`),
 * or undefined when it names none or several.
 */
export function roleOfCertificate(cert: { subjectaltname?: string | undefined }): string | undefined {
  const roles = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((name) => name.startsWith(`URI:${ROLE_URI_PREFIX}`))
    .map((name) => name.slice(`URI:${ROLE_URI_PREFIX}`.length));
  return roles.length === 1 ? roles[0] : undefined;
}

/** Where a process's CA certificate, own certificate and key are (IM_TLS_CA_FILE, IM_TLS_CERT_FILE, IM_TLS_KEY_FILE). */
export interface IdentityFiles {
  tlsCaFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
}

/**
 * Reads the identity a cluster service presents and checks that its certificate names `role`: a service started
 * with another's certificate (or none) stops here, at start, rather than failing its peers' calls later.
 */
export function loadServiceIdentity(files: IdentityFiles, role: string): ServiceIdentity {
  const missing = (['tlsCaFile', 'tlsCertFile', 'tlsKeyFile'] as const).filter((k) => !files[k]);
  if (missing.length > 0) {
    throw new Error(
      'cluster services call each other over mTLS only: set IM_TLS_CA_FILE, IM_TLS_CERT_FILE and IM_TLS_KEY_FILE ' +
        '(npm run cluster makes a local CA and a certificate per service; decision 0028)',
    );
  }
  const identity = {
    role,
    ca: readFileSync(files.tlsCaFile, 'utf8'),
    cert: readFileSync(files.tlsCertFile, 'utf8'),
    key: readFileSync(files.tlsKeyFile, 'utf8'),
  };
  const named = roleOfCertificate({ subjectaltname: new X509Certificate(identity.cert).subjectAltName });
  if (named !== role) {
    throw new Error(
      `${files.tlsCertFile} names the role ${named ?? '(none)'} where this ${role} service needs ${roleUri(role)}`,
    );
  }
  return identity;
}
