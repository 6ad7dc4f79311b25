import { newServiceCa } from '../lib/service-certs.ts';
import type { CallerPolicy } from '../lib/grpc-access.ts';
import type { ServiceIdentity } from '../lib/service-identity.ts';

/** A server's policy in tests of the transport: any caller whose certificate the CA signed may call anything. */
export const anyCaller: CallerPolicy = () => true;

/** An identity per role, signed by a new in-memory CA (the servers and clients of one test share it). */
export async function testIdentities<R extends string>(...roles: R[]): Promise<Record<R, ServiceIdentity>> {
  const ca = await newServiceCa('im test CA');
  const issued = await Promise.all(roles.map((role) => ca.issue(role)));
  return Object.fromEntries(roles.map((role, i) => [role, issued[i]!])) as Record<R, ServiceIdentity>;
}
