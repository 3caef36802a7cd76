// A throw-away certificate authority for the database peers' TLS, made once per test process (the
// keys come from Node's native RSA keygen through node-forge, ~100 ms). The harness PostgreSQL and
// MariaDB present a certificate it signed for 127.0.0.1 and localhost, so fixtures add their
// targets verified (by this CA or by the leaf's pin) and the suite runs the default path. Also
// makes the impostors' certificates: self-signed with the same names, signed by a rogue CA that
// has the same name, and signed by this CA for another name.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { createCa, issueServerCert, type KeyPairPem } from '../../certs/ca.js';
import { tempDir } from './common.js';

export const TEST_CA_NAME = 'Portcullis Test CA';
export const SERVER_NAMES = ['127.0.0.1', 'localhost'];

export interface TestTls {
  /** The CA certificate, as a file for --tls-ca and as PEM. */
  caFile: string;
  caPem: string;
  /** The server certificate and key every database peer presents. */
  server: KeyPairPem;
  /** "sha256:<hex>" of the server certificate (what --tls-fingerprint takes). */
  fingerprint: string;
}

let made: { tls: TestTls; ca: KeyPairPem } | null = null;

function once(): { tls: TestTls; ca: KeyPairPem } {
  if (made) return made;
  const ca = createCa(TEST_CA_NAME);
  const server = issueServerCert(ca, SERVER_NAMES);
  const dir = tempDir('test-ca');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  made = { ca, tls: { caFile, caPem: ca.certPem, server, fingerprint: pemFingerprint(server.certPem) } };
  return made;
}

export function testTls(): TestTls {
  return once().tls;
}

/** A certificate signed by the test CA for other names (verify-ca accepts it, verify-full must not). */
export function caSignedFor(names: string[]): KeyPairPem {
  return issueServerCert(once().ca, names);
}

/** Signed by a different CA that carries the very same name as the test CA. */
export function rogueCaSigned(names = SERVER_NAMES): KeyPairPem {
  return issueServerCert(createCa(TEST_CA_NAME), names);
}

/** A self-signed leaf with the server's own names. */
export function selfSigned(names = SERVER_NAMES): KeyPairPem {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const attrs = [{ name: 'commonName', value: names[0]! }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([{ name: 'subjectAltName', altNames: names.map((n) => (/^[\d.]+$/.test(n) ? { type: 7, ip: n } : { type: 2, value: n })) }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function pemFingerprint(pem: string): string {
  return 'sha256:' + new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** `target add` flags that verify a harness database peer by the test CA. */
export const tlsCaArgs = (): string[] => ['--tls-ca', testTls().caFile];
/** `target add` flags that verify a harness database peer by its pinned certificate. */
export const tlsPinArgs = (): string[] => ['--tls-fingerprint', testTls().fingerprint];
