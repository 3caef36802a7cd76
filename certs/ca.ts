// The gateway's own certificate authority (node-forge): create or load a CA, and issue server
// certificates for the TLS listeners with the configured host names and IP addresses as SANs.
// Imports nothing from gateway/. Keys are RSA-2048 (forge uses Node's native keygen when present).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

function serial(): string {
  // Positive 16-byte serial (leading nibble < 8 keeps the DER integer positive).
  return '0' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

export function createCa(commonName: string, now = new Date()): KeyPairPem {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + 10 * YEAR_MS);
  const attrs = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'Portcullis' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true, pathLenConstraint: 0 },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function issueServerCert(ca: KeyPairPem, names: string[], now = new Date(), validMs = 2 * YEAR_MS): KeyPairPem {
  if (names.length === 0) throw new Error('a server certificate needs at least one host name or IP address');
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + validMs);
  cert.setSubject([{ name: 'commonName', value: names[0]! }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

export interface CertPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

export function certPaths(dataDir: string): CertPaths {
  const dir = join(dataDir, 'certs');
  return { dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), serverCert: join(dir, 'server.crt'), serverKey: join(dir, 'server.key') };
}

/** Creates the CA and a server certificate in <data>/certs unless they exist. */
export function ensureCerts(dataDir: string, names: string[]): CertPaths {
  const p = certPaths(dataDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  let ca: KeyPairPem;
  if (existsSync(p.caCert) && existsSync(p.caKey)) {
    ca = { certPem: readFileSync(p.caCert, 'utf8'), keyPem: readFileSync(p.caKey, 'utf8') };
  } else {
    ca = createCa('Portcullis CA');
    writeFileSync(p.caKey, ca.keyPem, { mode: 0o600 });
    writeFileSync(p.caCert, ca.certPem, { mode: 0o644 });
  }
  if (!existsSync(p.serverCert) || !existsSync(p.serverKey)) {
    const server = issueServerCert(ca, names);
    writeFileSync(p.serverKey, server.keyPem, { mode: 0o600 });
    writeFileSync(p.serverCert, server.certPem, { mode: 0o644 });
  }
  return p;
}
