import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureServiceCerts } from './service-certs.ts';
import { loadServiceIdentity } from './service-identity.ts';

const ROLES = ['gateway', 'logic', 'offline', 'sync', 'push'];

describe('the local cluster CA and its service certificates', () => {
  const root = mkdtempSync(join(tmpdir(), 'im-certs-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('makes a CA and a certificate per role, keys readable by their owner only, each naming its role', async () => {
    const dir = join(root, 'one');
    const paths = await ensureServiceCerts(dir, ROLES);
    for (const role of ROLES) {
      const files = paths[role]!;
      for (const file of [files.tlsCaFile, files.tlsCertFile, files.tlsKeyFile]) {
        assert.equal(statSync(file).mode & 0o777, 0o600, file);
      }
      const identity = loadServiceIdentity(files, role);
      const cert = new X509Certificate(identity.cert);
      assert.ok(cert.verify(new X509Certificate(identity.ca).publicKey));
      assert.match(cert.subjectAltName ?? '', new RegExp(`URI:urn:im:service:${role}`));
      assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      assert.throws(() => loadServiceIdentity(files, role === 'gateway' ? 'logic' : 'gateway'), /names the role/);
    }
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.throws(() => readFileSync(join(dir, 'ca.key')), /ENOENT/, "the CA's key is never written");
  });

  it('stops a cluster service configured without its certificate', () => {
    assert.throws(
      () => loadServiceIdentity({ tlsCaFile: '', tlsCertFile: '', tlsKeyFile: '' }, 'sync'),
      /mTLS only: set IM_TLS_CA_FILE, IM_TLS_CERT_FILE and IM_TLS_KEY_FILE/,
    );
  });

  it('reuses a whole set, and makes the set anew when a file is missing', async () => {
    const dir = join(root, 'two');
    const first = await ensureServiceCerts(dir, ROLES);
    const ca = readFileSync(first.gateway!.tlsCaFile, 'utf8');
    await ensureServiceCerts(dir, ROLES);
    assert.equal(readFileSync(first.gateway!.tlsCaFile, 'utf8'), ca);
    unlinkSync(first.push!.tlsKeyFile);
    const again = await ensureServiceCerts(dir, ROLES);
    assert.notEqual(readFileSync(again.gateway!.tlsCaFile, 'utf8'), ca);
    assert.equal(loadServiceIdentity(again.push!, 'push').role, 'push');
  });

  it('gives launchers starting at once one consistent set', async () => {
    const dir = join(root, 'three');
    const sets = await Promise.all([1, 2, 3].map(() => ensureServiceCerts(dir, ROLES)));
    const ca = new X509Certificate(readFileSync(sets[0]!.gateway!.tlsCaFile));
    for (const role of ROLES) {
      assert.ok(new X509Certificate(readFileSync(sets[2]![role]!.tlsCertFile)).checkIssued(ca), role);
    }
  });
});
