// The gateway's own certificate authority (node-forge): create or load a CA, and issue server
// certificates for the TLS listeners with the configured host names and IP addresses as SANs.
// Imports nothing from gateway/. Keys are RSA-2048 made by Node's crypto and written as Node (OpenSSL)
// encodes them: forge's own PEM of a private key now and then carries an integer with a superfluous
// leading zero, which OpenSSL 3 refuses ("asn1 encoding routines::illegal padding"): a gateway that
// could not start on one key in a few hundred. forge only signs the certificates.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

interface RsaKeys {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  /** The private key as Node encodes it (PKCS#1 PEM): what is written to disk and loaded by TLS. */
  pem: string;
}

function rsaKeys(): RsaKeys {
  const k = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return {
    privateKey: forge.pki.privateKeyFromPem(k.privateKey),
    publicKey: forge.pki.publicKeyFromPem(k.publicKey),
    pem: k.privateKey,
  };
}

function serial(): string {
  // 16 random bytes whose first is 0x40-0x7f: positive, and minimal in DER. A leading 0x00 followed
  // by a byte below 0x80 is a non-minimal INTEGER that OpenSSL 3 refuses ("illegal padding").
  const bytes = forge.random.getBytesSync(16);
  const first = String.fromCharCode(0x40 | (bytes.charCodeAt(0) & 0x3f));
  return forge.util.bytesToHex(first + bytes.slice(1));
}

export function createCa(commonName: string, now = new Date()): KeyPairPem {
  const keys = rsaKeys();
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
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.pem };
}

export function issueServerCert(ca: KeyPairPem, names: string[], now = new Date(), validMs = 2 * YEAR_MS): KeyPairPem {
  if (names.length === 0) throw new Error('a server certificate needs at least one host name or IP address');
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = rsaKeys();
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
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.pem };
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
