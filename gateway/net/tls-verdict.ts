// Whether the certificate a database target presented is good enough to send it the vaulted
// credential: a pure decision over the target's TLS settings and what the handshake showed (the
// leaf's fingerprint, the chain check, the name check). It opens no socket and reads no clock;
// upstream-tls.ts does the handshake and collects the facts. Messages are for the admin and the
// user alike: they name the target and the fix and never carry a secret.
//
// The rules (DESIGN 3b-style contract for database targets):
//   - a pinned fingerprint must match the leaf exactly; with a pin, the system-CA chain and the
//     host name are not required (the way SSH pins host keys);
//   - a CA given with the target (--tls-ca) must sign the chain, pin or not;
//   - without a pin: verify-full needs chain + name, verify-ca the chain (CA, else the system CAs);
//   - `require` without a CA or a pin verifies nothing: only with the named opt-in.
import { createHash } from 'node:crypto';

/** The TLS modes that open TLS at all (`disable` never reaches this module). */
export type TlsVerifyMode = 'require' | 'verify-ca' | 'verify-full';

export interface TlsSettings {
  /** The target's name, for messages. */
  target: string;
  host: string;
  mode: TlsVerifyMode;
  caPem: string | null;
  fingerprint: string | null;
  allowUnverified: boolean;
}

/** What the handshake showed, gathered before anything else is written on the connection. */
export interface PresentedCertificate {
  fingerprint: string;
  /** Why the chain does not verify against the CA in use (OpenSSL code), or null when it does. */
  chainError: string | null;
  /** Why the certificate is not for the host, or null when it is. */
  nameError: string | null;
}

export type TlsVerdict =
  | { ok: true; by: 'pin' | 'ca' | 'unverified'; detail: string }
  | { ok: false; reason: string };

const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;

/** "sha256:" + the lowercase hex SHA-256 of a certificate's DER. */
export function certFingerprint(der: Buffer): string {
  return 'sha256:' + createHash('sha256').update(der).digest('hex');
}

/**
 * Reads a fingerprint as an admin may paste it: `sha256:<64 hex>`, any case, with or without colons
 * between bytes (openssl's `SHA256 Fingerprint=AB:CD:...` included). Null when it is not one.
 */
export function parseFingerprint(input: string): string | null {
  const s = input.trim().replace(/^sha256\s*(fingerprint)?\s*[:=]\s*/i, '');
  const hex = s.replace(/:/g, '').toLowerCase();
  if (s.includes(':') && !/^([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$/.test(s)) return null;
  const fp = 'sha256:' + hex;
  return FINGERPRINT.test(fp) ? fp : null;
}

export const isFingerprint = (s: string): boolean => FINGERPRINT.test(s);

/** Short form for lists: "sha256:1a2b3c4d5e6f7a8b…". */
export function shortFingerprint(fp: string): string {
  return fp.length > 23 ? `${fp.slice(0, 23)}…` : fp;
}

/**
 * A problem with the settings themselves, known before connecting: `require` without a CA or a
 * pin cannot tell the genuine server from an impostor. Null when the settings can verify (or the
 * target opted in by name).
 */
export function settingsProblem(s: Pick<TlsSettings, 'target' | 'mode' | 'caPem' | 'fingerprint' | 'allowUnverified'>): string | null {
  if (s.mode !== 'require' || s.caPem !== null || s.fingerprint !== null || s.allowUnverified) return null;
  return `${s.target} is set to tls require without a CA or a pinned certificate, so the gateway cannot tell the genuine server ` +
    'from an impostor and does not send it the credential; an admin can pin its certificate (--tls-fingerprint sha256:..., ' +
    'see portcullis target fetch-cert), give its CA (--tls-ca FILE), or opt in by name with --allow-weak-upstream-auth';
}

export function judgeCertificate(s: TlsSettings, c: PresentedCertificate): TlsVerdict {
  const caName = s.caPem !== null ? "the target's CA (--tls-ca)" : 'any of the system CAs';
  const chainBad = (): TlsVerdict => ({
    ok: false,
    reason: `${s.target}'s TLS certificate is not signed by ${caName} (${c.chainError ?? 'unknown'}); the credential was not sent`,
  });
  const nameBad = (): TlsVerdict => ({
    ok: false,
    reason: `${s.target}'s TLS certificate is not for ${s.host} (${c.nameError ?? 'name mismatch'}); the credential was not sent`,
  });
  if (s.fingerprint !== null) {
    if (c.fingerprint !== s.fingerprint) {
      return {
        ok: false,
        reason: `${s.target}'s TLS certificate (${c.fingerprint}) is not the pinned one (${s.fingerprint}); the credential was not ` +
          'sent. If the certificate changed on purpose, an admin can check the new one with portcullis target fetch-cert and pin it',
      };
    }
    // A CA given alongside the pin is a second, independent requirement.
    if (s.caPem !== null) {
      if (c.chainError !== null) return chainBad();
      if (s.mode === 'verify-full' && c.nameError !== null) return nameBad();
    }
    return { ok: true, by: 'pin', detail: `certificate matches the pinned ${shortFingerprint(s.fingerprint)}` };
  }
  if (s.mode === 'require' && s.caPem === null) {
    if (!s.allowUnverified) return { ok: false, reason: settingsProblem(s) ?? 'unverified TLS' };
    return { ok: true, by: 'unverified', detail: `encrypted but NOT verified (tls require, --allow-weak-upstream-auth); presented ${shortFingerprint(c.fingerprint)}` };
  }
  if (c.chainError !== null) return chainBad();
  if (s.mode === 'verify-full') {
    if (c.nameError !== null) return nameBad();
    return { ok: true, by: 'ca', detail: `chain verified against ${caName} and name ${s.host} matches` };
  }
  return { ok: true, by: 'ca', detail: `chain verified against ${caName} (name not checked: ${s.mode})` };
}

/** The TLS fields of a database target, as the store keeps them (structural: no store import). */
export interface TargetTlsFields {
  name: string;
  host: string;
  tlsMode: 'disable' | TlsVerifyMode;
  tlsCaPem: string | null;
  tlsFingerprint: string | null;
  allowWeakUpstreamAuth: boolean;
}

/** The settings to verify with, or null for a target that does not use TLS. */
export function tlsSettingsOf(t: TargetTlsFields): TlsSettings | null {
  if (t.tlsMode === 'disable') return null;
  return { target: t.name, host: t.host, mode: t.tlsMode, caPem: t.tlsCaPem, fingerprint: t.tlsFingerprint, allowUnverified: t.allowWeakUpstreamAuth };
}
