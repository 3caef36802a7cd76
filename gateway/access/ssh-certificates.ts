// SSH user certificates from a sign-in (issue 18): issues a short-lived OpenSSH certificate for a
// signed-in human user's key, and decides whether a certificate presented at the SSH listener logs
// in. A certificate is bound to the API token (the sign-in) it was issued from — its key id names
// the token — so it lives no longer than that sign-in: logout, token revocation, a password change
// (which ends every token), a disabled or removed user all refuse it at the next login, on every
// node (the token is in the shared store). What the certificate itself says (CA, signature,
// principal, dates, critical options) is checked by ssh/certs/verify.ts.
// Failures of certificates we signed (expired, revoked sign-in, wrong principal) are audited; a
// certificate of another CA or a malformed one is only logged: anyone can send those, and each is
// refused by a signature check that costs nothing to repeat, so they do not go to the audit chain.
import { randomBytes } from 'node:crypto';
import ssh2 from 'ssh2';
import { readFileSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import type { UserRecord } from '../store/records.js';
import { fingerprint } from '../ssh/host-key.js';
import { readCertificate, USER_CERT } from '../ssh/certs/certificate.js';
import { publicKeyBlob, readPublicKeyLine } from '../ssh/certs/ed25519.js';
import { SshUserCa, userCaPath } from '../ssh/certs/user-ca.js';
import { keyIdFor, verifyClientSignature, verifyUserCertificate } from '../ssh/certs/verify.js';
import { CertificateFormatError } from '../ssh/certs/wire.js';
import { PortcullisError } from '../util/errors.js';
import { sha256Hex } from '../util/ids.js';
import type { AccessContext } from './context.js';

/** Extensions of every certificate we issue; see README "SSH certificates" for why port forwarding is in. */
const EXTENSIONS = [{ name: 'permit-port-forwarding', data: Buffer.alloc(0) }, { name: 'permit-pty', data: Buffer.alloc(0) }];
/** Clock skew allowed between the gateway and the hosts that may check the certificate. */
const BACKDATE_S = 60n;

export interface IssuedCertificate {
  certificate: string;
  principal: string;
  keyId: string;
  serial: string;
  validBefore: number;
}

export interface SshCertificateSettings {
  /** The data dir: the CA key is its certs/ssh_user_ca.key. */
  dataDir: string;
  /** The gateway's SSH host key (private; its public half is what clients pin). */
  hostKeyPath: string;
  /** Longest certificate lifetime (config ssh.certificateTtl); never beyond the sign-in's own expiry. */
  ttlMs: number;
}

export class SshCertificateService {
  private loaded: SshUserCa | null = null;

  constructor(private readonly ctx: AccessContext, private readonly settings: SshCertificateSettings, private readonly log: Logger) {}

  /** Loaded at first use: serve makes the file (or pulls it from the cluster's store) before any listener starts. */
  private ca(): SshUserCa {
    this.loaded ??= SshUserCa.load(userCaPath(this.settings.dataDir));
    return this.loaded;
  }

  userCaLine(): string {
    return this.ca().publicLine();
  }

  /** The gateway's host key as an OpenSSH public key line (what `portcullis ssh-config` pins). */
  hostKeyLine(): string {
    const key = ssh2.utils.parseKey(readFileSync(this.settings.hostKeyPath));
    if (key instanceof Error) throw new PortcullisError('internal', 'the gateway host key cannot be read');
    return `${key.type} ${key.getPublicSSH().toString('base64')}`;
  }

  /**
   * A certificate for `publicKeyLine`, for the user signed in with `token`. Human users only (a
   * service account's token is not a person's sign-in); valid from a minute ago until the token's
   * expiry or the configured lifetime, whichever comes first.
   */
  async issue(user: UserRecord, token: string, publicKeyLine: string): Promise<IssuedCertificate> {
    if (user.kind !== 'human') throw new PortcullisError('forbidden', `${user.name} is a service account: SSH certificates are for people who signed in (portcullis login)`);
    const rec = await this.ctx.store.tokens.byHash(sha256Hex(token));
    if (!rec || rec.userId !== user.id) throw new PortcullisError('unauthenticated', 'sign in first: portcullis login');
    let raw: Buffer;
    try {
      raw = readPublicKeyLine(publicKeyLine);
    } catch (err) {
      if (err instanceof CertificateFormatError) throw new PortcullisError('bad-request', err.message);
      throw err;
    }
    const now = this.ctx.clock.now();
    const until = Math.min(rec.expiresAt ?? Infinity, now + this.settings.ttlMs);
    if (until <= now) throw new PortcullisError('unauthenticated', 'this sign-in has expired: portcullis login');
    const validBefore = BigInt(Math.floor(until / 1000));
    const serial = randomBytes(8).readBigUInt64BE();
    const keyId = keyIdFor(user.name, rec.id);
    const { line } = this.ca().issue({
      publicKey: raw, serial, type: USER_CERT, keyId, principals: [user.name],
      validAfter: BigInt(Math.floor(now / 1000)) - BACKDATE_S, validBefore, criticalOptions: [], extensions: EXTENSIONS,
    }, `${user.name}@portcullis`);
    const validBeforeMs = Number(validBefore) * 1000;
    await this.ctx.audit.append('ssh_certificate.issued', user.name, {
      user: user.name, serial: serial.toString(), keyId, fingerprint: fingerprint(publicKeyBlob(raw)), validBefore: validBeforeMs,
    });
    return { certificate: line, principal: user.name, keyId, serial: serial.toString(), validBefore: validBeforeMs };
  }

  /**
   * The "would you accept this key?" probe: yes only for a certificate that would log in now
   * (everything but the client's signature, which the probe does not carry). OpenSSH probes before
   * it signs, so a refused certificate of ours is audited here: most never get to a signed request.
   */
  async probe(name: string, blob: Buffer, addr: string): Promise<boolean> {
    try {
      return (await this.check(name, blob, addr, false)) !== null;
    } catch {
      return false;
    }
  }

  /**
   * A signed certificate login: the certificate, the sign-in it came from, then the client's
   * signature with the certified key. Throws `user-disabled` (shown to the user) or
   * `invalid-credentials`.
   */
  async login(name: string, blob: Buffer, signed: Buffer, signature: Buffer, addr: string): Promise<UserRecord> {
    const user = await this.check(name, blob, addr, true);
    if (!user) throw new PortcullisError('invalid-credentials', 'certificate refused');
    if (!verifyClientSignature(readCertificate(blob), signed, signature)) {
      await this.refused(name, addr, 'bad-signature');
      throw new PortcullisError('invalid-credentials', 'certificate refused');
    }
    await this.ctx.audit.append('auth.succeeded', user.name, { user: user.name, method: 'ssh-certificate', addr });
    return user;
  }

  /** The user the certificate logs in as, or null. `signed`: a login attempt, not a probe. */
  private async check(name: string, blob: Buffer, addr: string, signed: boolean): Promise<UserRecord | null> {
    const v = verifyUserCertificate({ blob, caBlob: this.ca().publicBlob, user: name, nowMs: this.ctx.clock.now() });
    if (!v.ok) {
      // Ours (signed by our CA, readable): audited. Anything else: a log line only (see the header).
      const ours = v.reason !== 'malformed' && v.reason !== 'unknown-ca' && v.reason !== 'bad-ca-signature';
      if (ours) await this.refused(name, addr, v.reason);
      else this.log.info({ user: name, addr, reason: v.reason }, 'ssh.certificate_refused');
      return null;
    }
    const token = await this.ctx.store.tokens.byId(v.tokenId);
    const user = await this.ctx.store.users.byName(name);
    const why = !token ? 'sign-in-ended'
      : token.expiresAt !== null && token.expiresAt <= this.ctx.clock.now() ? 'sign-in-expired'
        : !user || token.userId !== user.id ? 'sign-in-of-another-user'
          : user.kind !== 'human' ? 'service-account' : null;
    if (why !== null || !user) {
      await this.refused(name, addr, why ?? 'unknown-user');
      return null;
    }
    if (user.disabled) {
      if (signed) {
        await this.refused(name, addr, 'disabled');
        throw new PortcullisError('user-disabled', `account ${name} is disabled; ask a Portcullis admin to enable it`);
      }
      // The probe says yes: the signed attempt that follows is refused with a message saying why (as for keys).
      return user;
    }
    return user;
  }

  private async refused(name: string, addr: string, reason: string): Promise<void> {
    await this.ctx.audit.append('auth.failed', name, { user: name, method: 'ssh-certificate', addr, reason });
  }
}
