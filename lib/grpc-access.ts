import { ImError } from './errors.ts';
import { roleOfCertificate } from './service-identity.ts';

/**
 * Whether a caller of `role` (from its verified certificate) may call the method at `path`
 * (`/im.v1.OfflineService/WriteInbox`). A server holds one; app/cluster/callers.ts is the cluster's.
 */
export type CallerPolicy = (role: string, path: string) => boolean;

/** What grpc-js's `call.getAuthContext()` tells of a TLS peer (its AuthContext type is not exported). */
interface PeerAuth {
  sslPeerCertificate?: { subjectaltname?: string } | undefined;
}

/**
 * The role of the peer of a call, from the client certificate its TLS connection verified against the CA. A
 * server only accepts connections with such a certificate, so a call without one is a misconfigured server:
 * refused all the same.
 */
export function callerRole(auth: PeerAuth | null): string {
  const role = auth?.sslPeerCertificate ? roleOfCertificate(auth.sslPeerCertificate) : undefined;
  if (role === undefined) throw new ImError('UNAUTHORIZED', 'the caller presented no certificate naming its role');
  return role;
}

/** Throws FORBIDDEN (gRPC PERMISSION_DENIED) unless `policy` lets `role` call `path`. */
export function authorize(policy: CallerPolicy, role: string, path: string): void {
  if (!policy(role, path)) throw new ImError('FORBIDDEN', `the ${role} role may not call ${path}`);
}
