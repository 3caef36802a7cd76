// The gateway's SSH user CA: one Ed25519 key that signs the short-lived certificates `portcullis
// login` gets. Kept in the data dir as PKCS#8 PEM (mode 0600) at certs/ssh_user_ca.key; on a
// cluster the same file is shared through the store like the TLS CA (gateway/cluster/shared-files.ts).
// This module creates and loads the key and signs; it never hands the private key out. Only the
// public key (OpenSSH line) leaves it.
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type CertificateFields, certificateLine, writeCertificate } from './certificate.js';
import { ed25519Sign, publicKeyBlob, publicKeyLine, rawPublicKey, signatureBlob } from './ed25519.js';

export function userCaPath(dataDir: string): string {
  return join(dataDir, 'certs', 'ssh_user_ca.key');
}

/** Creates the CA key unless the file exists. Returns whether it made one. */
export function ensureUserCaFile(path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  // 'wx': two processes racing both write only if neither file existed; the loser fails here and reads the winner's.
  try {
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  return true;
}

export class SshUserCa {
  private constructor(private readonly key: KeyObject, readonly publicBlob: Buffer) {}

  static load(path: string): SshUserCa {
    const key = createPrivateKey(readFileSync(path));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${path} is not an Ed25519 key`);
    return new SshUserCa(key, publicKeyBlob(rawPublicKey(key)));
  }

  /** "ssh-ed25519 AAAA... portcullis-user-ca": the line for sshd's TrustedUserCAKeys or a @cert-authority entry. */
  publicLine(): string {
    return publicKeyLine(rawPublicKey(this.key), 'portcullis-user-ca');
  }

  /** Signs a certificate with fresh nonce; returns its OpenSSH line. */
  issue(f: Omit<CertificateFields, 'nonce'>, comment: string): { blob: Buffer; line: string } {
    const blob = writeCertificate({ ...f, nonce: randomBytes(32) }, this.publicBlob, (body) => signatureBlob(ed25519Sign(this.key, body)));
    return { blob, line: certificateLine(blob, comment) };
  }
}
