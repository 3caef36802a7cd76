// The OpenSSH certificate reader/writer (gateway/ssh/certs/): ours round-trips and OpenSSH's
// ssh-keygen reads it; we read what ssh-keygen signs; malformed input is refused with a
// CertificateFormatError at every truncation point, with trailing bytes, huge lengths, bad order.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CertificateFields, readCertificate, USER_CERT, HOST_CERT, writeCertificate, certificateLine } from '../../gateway/ssh/certs/certificate.js';
import { ed25519Sign, publicKeyBlob, rawPublicKey, readKeyLine, readPublicKeyLine, signatureBlob } from '../../gateway/ssh/certs/ed25519.js';
import { SshUserCa, ensureUserCaFile } from '../../gateway/ssh/certs/user-ca.js';
import { keyIdFor, verifyClientSignature, verifyUserCertificate } from '../../gateway/ssh/certs/verify.js';
import { CertificateFormatError, str, u32 } from '../../gateway/ssh/certs/wire.js';

const dir = mkdtempSync(join(tmpdir(), 'pc-cert-'));
const caPath = join(dir, 'ca.key');
ensureUserCaFile(caPath);
const ca = SshUserCa.load(caPath);
const subject = generateKeyPairSync('ed25519');
const subjectRaw = rawPublicKey(subject.publicKey);
const NOW = 1_800_000_000_000;

function fields(over: Partial<Omit<CertificateFields, 'nonce'>> = {}): Omit<CertificateFields, 'nonce'> {
  return {
    publicKey: subjectRaw, serial: 0x1234567890abcdefn, type: USER_CERT, keyId: keyIdFor('alice', 'tok_abc'), principals: ['alice'],
    validAfter: BigInt(NOW / 1000 - 60), validBefore: BigInt(NOW / 1000 + 3600), criticalOptions: [],
    extensions: [{ name: 'permit-port-forwarding', data: Buffer.alloc(0) }, { name: 'permit-pty', data: Buffer.alloc(0) }], ...over,
  };
}

function verify(blob: Buffer, user = 'alice', nowMs = NOW): ReturnType<typeof verifyUserCertificate> {
  return verifyUserCertificate({ blob, caBlob: ca.publicBlob, user, nowMs });
}

describe('OpenSSH certificates: writing and reading', () => {
  it('round-trips every field and verifies', () => {
    const { blob } = ca.issue(fields(), 'alice');
    const c = readCertificate(blob);
    expect(c.serial).toBe(0x1234567890abcdefn);
    expect(c.principals).toEqual(['alice']);
    expect(c.keyId).toBe('portcullis:alice:tok_abc');
    expect(c.publicKey.equals(subjectRaw)).toBe(true);
    expect(c.extensions.map((e) => e.name)).toEqual(['permit-port-forwarding', 'permit-pty']);
    const v = verify(blob);
    expect(v).toMatchObject({ ok: true, tokenId: 'tok_abc' });
  });

  it('is read by ssh-keygen -L', () => {
    const { line } = ca.issue(fields(), 'alice@portcullis');
    const f = join(dir, 'ours-cert.pub');
    writeFileSync(f, line + '\n');
    const out = execFileSync('ssh-keygen', ['-L', '-f', f], { encoding: 'utf8' });
    expect(out).toContain('Type: ssh-ed25519-cert-v01@openssh.com user certificate');
    expect(out).toContain('Key ID: "portcullis:alice:tok_abc"');
    expect(out).toContain('Serial: 1311768467294899695');
    expect(out).toMatch(/Principals:\s*\n\s*alice/);
    expect(out).toMatch(/Critical Options: \(none\)/);
    expect(out).toContain('permit-pty');
  });

  it('reads a certificate ssh-keygen signed, and trusts it only when its CA is ours and the key id is ours', () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'kgca')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user')]);
    execFileSync('ssh-keygen', ['-q', '-s', join(dir, 'kgca'), '-I', 'portcullis:alice:tok_x', '-n', 'alice,bob', '-V', '-5m:+1h', join(dir, 'user.pub')], { stdio: 'ignore' });
    const { type, blob } = readKeyLine(readFileSync(join(dir, 'user-cert.pub'), 'utf8'), 'cert');
    expect(type).toBe('ssh-ed25519-cert-v01@openssh.com');
    const c = readCertificate(blob);
    expect(c.principals).toEqual(['alice', 'bob']);
    expect(c.extensions.map((e) => e.name)).toContain('permit-pty');
    // Signed by another CA: refused, whatever it says.
    expect(verifyUserCertificate({ blob, caBlob: ca.publicBlob, user: 'alice', nowMs: Date.now() })).toEqual({ ok: false, reason: 'unknown-ca' });
    // Had that CA been ours, it would pass (so the refusal above is about the CA alone).
    const kgca = readKeyLine(readFileSync(join(dir, 'kgca.pub'), 'utf8'), 'ca').blob;
    expect(verifyUserCertificate({ blob, caBlob: kgca, user: 'alice', nowMs: Date.now() })).toMatchObject({ ok: true, tokenId: 'tok_x' });
    // The key id names alice: a login as bob (also a principal) is not hers to use.
    expect(verifyUserCertificate({ blob, caBlob: kgca, user: 'bob', nowMs: Date.now() })).toEqual({ ok: false, reason: 'foreign-key-id' });
  });

  it('refuses the wrong principal, dates outside the validity, host certificates and critical options', () => {
    expect(verify(ca.issue(fields(), '').blob, 'bob')).toEqual({ ok: false, reason: 'wrong-principal' });
    expect(verify(ca.issue(fields(), '').blob, 'alice', NOW + 3600_000)).toEqual({ ok: false, reason: 'expired' });
    expect(verify(ca.issue(fields(), '').blob, 'alice', NOW - 120_000)).toEqual({ ok: false, reason: 'not-yet-valid' });
    expect(verify(ca.issue(fields({ type: HOST_CERT }), '').blob)).toEqual({ ok: false, reason: 'not-user-certificate' });
    const forced = fields({ criticalOptions: [{ name: 'force-command', data: str('/bin/true') }] });
    expect(verify(ca.issue(forced, '').blob)).toEqual({ ok: false, reason: 'critical-option' });
    expect(verify(ca.issue(fields({ keyId: 'someone-else' }), '').blob)).toEqual({ ok: false, reason: 'foreign-key-id' });
    expect(verify(ca.issue(fields({ keyId: keyIdFor('bob', 'tok_abc'), principals: ['alice', 'bob'] }), '').blob)).toEqual({ ok: false, reason: 'foreign-key-id' });
  });

  it('refuses any flipped byte of a certificate (never accepted, never a crash)', () => {
    const { blob } = ca.issue(fields(), '');
    for (let i = 0; i < blob.length; i++) {
      const t = Buffer.from(blob);
      t[i] = t[i]! ^ 0x01;
      const v = verify(t);
      expect(v.ok, `byte ${i}`).toBe(false);
    }
  });

  it('refuses a certificate with another CA key swapped in (re-signed by that CA)', () => {
    const other = generateKeyPairSync('ed25519');
    const otherBlob = publicKeyBlob(rawPublicKey(other.publicKey));
    const forged = writeCertificate({ ...fields(), nonce: Buffer.alloc(32, 1) }, otherBlob, (b) => signatureBlob(ed25519Sign(other.privateKey, b)));
    expect(verify(forged)).toEqual({ ok: false, reason: 'unknown-ca' });
    // Our CA key in the signature-key field, but signed by the other key.
    const lying = writeCertificate({ ...fields(), nonce: Buffer.alloc(32, 1) }, ca.publicBlob, (b) => signatureBlob(ed25519Sign(other.privateKey, b)));
    expect(verify(lying)).toEqual({ ok: false, reason: 'bad-ca-signature' });
  });

  it('refuses truncation at every split point and any trailing byte', () => {
    const { blob } = ca.issue(fields(), '');
    for (let n = 0; n < blob.length; n++) {
      expect(() => readCertificate(blob.subarray(0, n)), `length ${n}`).toThrow(CertificateFormatError);
    }
    expect(() => readCertificate(Buffer.concat([blob, Buffer.from([0])]))).toThrow(/trailing/);
  });

  it('refuses huge lengths before reading them, oversize certificates, and bad inner lists', () => {
    const huge = Buffer.concat([str('ssh-ed25519-cert-v01@openssh.com'), u32(0xffffffff)]);
    expect(() => readCertificate(huge)).toThrow(/more than/);
    expect(() => readCertificate(Buffer.alloc(9000))).toThrow(/more than/);
    // Extensions out of order, or repeated.
    const unordered = fields({ extensions: [{ name: 'permit-pty', data: Buffer.alloc(0) }, { name: 'permit-port-forwarding', data: Buffer.alloc(0) }] });
    expect(() => ca.issue(unordered, '')).toThrow(/out of order/);
    // A principal with a control character.
    expect(verify(ca.issue(fields({ principals: ['ali\nce'] }), '').blob)).toEqual({ ok: false, reason: 'malformed' });
    // 65 principals.
    expect(verify(ca.issue(fields({ principals: Array.from({ length: 65 }, (_, i) => `u${i}`) }), '').blob)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('checks the client signature with the certified key', () => {
    const { blob } = ca.issue(fields(), '');
    const cert = readCertificate(blob);
    const data = Buffer.from('session id and request');
    const good = signatureBlob(ed25519Sign(subject.privateKey, data));
    expect(verifyClientSignature(cert, data, good)).toBe(true);
    const other = generateKeyPairSync('ed25519');
    expect(verifyClientSignature(cert, data, signatureBlob(ed25519Sign(other.privateKey, data)))).toBe(false);
    expect(verifyClientSignature(cert, data, good.subarray(0, 20))).toBe(false);
    expect(verifyClientSignature(cert, Buffer.from('other data'), good)).toBe(false);
  });

  it('reads public key lines strictly: Ed25519 only, well-formed base64', () => {
    const line = `ssh-ed25519 ${publicKeyBlob(subjectRaw).toString('base64')} me@host`;
    expect(readPublicKeyLine(line).equals(subjectRaw)).toBe(true);
    expect(() => readPublicKeyLine('ssh-rsa AAAAB3NzaC1yc2E= x')).toThrow(/only ssh-ed25519/);
    expect(() => readPublicKeyLine('ssh-ed25519 !!!')).toThrow(/base64/);
    expect(() => readPublicKeyLine(`ssh-ed25519 ${Buffer.concat([publicKeyBlob(subjectRaw), Buffer.from([1])]).toString('base64')}`)).toThrow(/trailing/);
    expect(() => readPublicKeyLine('x'.repeat(5000))).toThrow(CertificateFormatError);
    expect(certificateLine(Buffer.from('ab'), '')).toBe('ssh-ed25519-cert-v01@openssh.com YWI=');
  });
});
