// OpenSSH certificates (PROTOCOL.certkeys), Ed25519 subject and Ed25519 CA only:
// ssh-ed25519-cert-v01@openssh.com. Writes a certificate from its fields and a signer, and reads
// one back strictly: every length bounded before it is used, no trailing bytes anywhere (also
// inside the principal, option and extension lists), options and extensions in strictly increasing
// name order (each once), the reserved field empty. Reading checks the form, not the trust: whether
// the CA is ours, the signature valid, the dates and principal right is verify.ts.
// Our own small reader/writer rather than a library: sshpk (the one that reads certificates) is
// large, lightly maintained, and parses every key type; we need one type, in ~150 lines we can test
// at every split point.
import { CertificateFormatError, str, u32, u64, WireReader } from './wire.js';
import { ED25519, publicKeyBlob, readPublicKeyBlob } from './ed25519.js';

export const CERT_TYPE = 'ssh-ed25519-cert-v01@openssh.com';
export const USER_CERT = 1;
export const HOST_CERT = 2;

/** Bounds: far above what we issue (a certificate of ours is ~300 bytes), far below what could hurt. */
export const LIMITS = {
  certificate: 8 * 1024, nonce: 64, keyId: 512, principals: 64, principal: 256, list: 4096, optionData: 1024, signatureKey: 256, signature: 256,
} as const;

export interface CertOption { name: string; data: Buffer }

export interface CertificateFields {
  nonce: Buffer;
  /** The certified key: raw Ed25519 public key bytes. */
  publicKey: Buffer;
  serial: bigint;
  type: typeof USER_CERT | typeof HOST_CERT;
  keyId: string;
  principals: string[];
  /** Seconds since the epoch (uint64; 2^64-1 is OpenSSH's "forever"). */
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: CertOption[];
  extensions: CertOption[];
}

export interface Certificate extends CertificateFields {
  /** The CA's public key blob, as written in the certificate. */
  signatureKey: Buffer;
  /** The CA's signature blob over `signed`. */
  signature: Buffer;
  /** The bytes the CA signed: everything before the signature. */
  signed: Buffer;
}

function optionList(list: CertOption[]): Buffer {
  checkOrder(list.map((o) => o.name), 'option');
  return Buffer.concat(list.map((o) => Buffer.concat([str(o.name), str(o.data)])));
}

/** The raw key, after publicKeyBlob checked its length. */
function checkedKey(raw: Buffer): Buffer {
  publicKeyBlob(raw);
  return raw;
}

/** The certificate's body up to and including the CA key: what the CA signs. */
export function certificateBody(f: CertificateFields, caBlob: Buffer): Buffer {
  return Buffer.concat([
    str(CERT_TYPE), str(f.nonce), str(checkedKey(f.publicKey)),
    u64(f.serial), u32(f.type), str(f.keyId),
    str(Buffer.concat(f.principals.map((p) => str(p)))),
    u64(f.validAfter), u64(f.validBefore),
    str(optionList(f.criticalOptions)), str(optionList(f.extensions)),
    str(Buffer.alloc(0)), str(caBlob),
  ]);
}

/** A whole certificate blob: `sign` returns the CA's signature blob over the body. */
export function writeCertificate(f: CertificateFields, caBlob: Buffer, sign: (body: Buffer) => Buffer): Buffer {
  const body = certificateBody(f, caBlob);
  return Buffer.concat([body, str(sign(body))]);
}

export function certificateLine(blob: Buffer, comment: string): string {
  return `${CERT_TYPE} ${blob.toString('base64')}${comment ? ' ' + comment : ''}`;
}

/** Reads a certificate blob; throws CertificateFormatError on anything not exactly well formed. */
export function readCertificate(blob: Buffer): Certificate {
  if (blob.length > LIMITS.certificate) throw new CertificateFormatError(`certificate: ${blob.length} bytes, more than ${LIMITS.certificate}`);
  const r = new WireReader(blob, 'certificate');
  const type = r.text('type', 64);
  if (type !== CERT_TYPE) throw new CertificateFormatError(`certificate: type ${type} is not ${CERT_TYPE}`);
  const nonce = r.bytes('nonce', LIMITS.nonce);
  if (nonce.length < 16) throw new CertificateFormatError('certificate: nonce shorter than 16 bytes');
  const rawKey = r.bytes('public key', 32);
  // Re-use the blob reader's checks on the certified key (exactly 32 bytes).
  const publicKey = readPublicKeyBlob(Buffer.concat([str(ED25519), str(rawKey)]), 'certified key');
  const serial = r.uint64('serial');
  const kind = r.uint32('certificate type');
  if (kind !== USER_CERT && kind !== HOST_CERT) throw new CertificateFormatError(`certificate: unknown certificate type ${kind}`);
  const keyId = r.text('key id', LIMITS.keyId);
  const principals = readPrincipals(r.bytes('principals', LIMITS.list));
  const validAfter = r.uint64('valid after');
  const validBefore = r.uint64('valid before');
  const criticalOptions = readOptions(r.bytes('critical options', LIMITS.list), 'critical option');
  const extensions = readOptions(r.bytes('extensions', LIMITS.list), 'extension');
  if (r.bytes('reserved', LIMITS.list).length !== 0) throw new CertificateFormatError('certificate: the reserved field is not empty');
  const signatureKey = Buffer.from(r.bytes('signature key', LIMITS.signatureKey));
  const signedEnd = r.offset;
  const signature = Buffer.from(r.bytes('signature', LIMITS.signature));
  r.end();
  return {
    nonce: Buffer.from(nonce), publicKey: Buffer.from(publicKey), serial, type: kind, keyId, principals, validAfter, validBefore,
    criticalOptions, extensions, signatureKey, signature, signed: Buffer.from(blob.subarray(0, signedEnd)),
  };
}

function readPrincipals(buf: Buffer): string[] {
  const r = new WireReader(buf, 'certificate principals');
  const out: string[] = [];
  while (r.remaining > 0) {
    if (out.length === LIMITS.principals) throw new CertificateFormatError(`certificate: more than ${LIMITS.principals} principals`);
    out.push(r.text('principal', LIMITS.principal));
  }
  return out;
}

function readOptions(buf: Buffer, what: string): CertOption[] {
  const r = new WireReader(buf, `certificate ${what}s`);
  const out: CertOption[] = [];
  while (r.remaining > 0) {
    const name = r.text(`${what} name`, 128);
    const data = Buffer.from(r.bytes(`${what} data`, LIMITS.optionData));
    out.push({ name, data });
  }
  checkOrder(out.map((o) => o.name), what);
  return out;
}

/** PROTOCOL.certkeys: options and extensions in lexical order, each name once. */
function checkOrder(names: string[], what: string): void {
  for (let i = 1; i < names.length; i++) {
    if (Buffer.compare(Buffer.from(names[i - 1]!), Buffer.from(names[i]!)) >= 0) {
      throw new CertificateFormatError(`certificate: ${what} names out of order or repeated (${names[i]})`);
    }
  }
}
