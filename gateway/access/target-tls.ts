// The TLS settings of a database target, checked when it is added or changed: database targets
// default to verify-full (the CA given or the system CAs), or verify a pinned leaf fingerprint;
// settings that could not tell the genuine server from an impostor (tls require without a CA or a
// pin) are refused unless the target opts in by name. The handshake itself is net/upstream-tls.ts's;
// this module decides nothing about sessions.
import { X509Certificate } from 'node:crypto';
import { parseFingerprint, settingsProblem } from '../net/tls-verdict.js';
import type { DbTlsMode, TargetKind, TargetRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';

export interface TlsInput {
  kind: TargetKind;
  tls?: DbTlsMode | undefined;
  tlsCaPem?: string | undefined;
  tlsFingerprint?: string | undefined;
}

/** The TLS fields of a new target, checked: database targets default to verify-full. */
export function tlsFields(t: TlsInput): Pick<TargetRecord, 'tlsMode' | 'tlsCaPem' | 'tlsFingerprint'> {
  if (t.kind === 'ssh') {
    if (t.tls !== undefined || t.tlsCaPem !== undefined || t.tlsFingerprint !== undefined) {
      throw new PortcullisError('bad-request', 'TLS settings are for database targets; ssh targets pin a host key (--host-key)');
    }
    return { tlsMode: 'disable', tlsCaPem: null, tlsFingerprint: null };
  }
  return checkedTls(t.tls ?? 'verify-full', t.tlsCaPem ?? null, t.tlsFingerprint === undefined ? null : t.tlsFingerprint);
}

/** Normalizes and checks TLS fields as they will be stored (add or update). */
export function checkedTls(tlsMode: DbTlsMode, tlsCaPem: string | null, fingerprint: string | null): Pick<TargetRecord, 'tlsMode' | 'tlsCaPem' | 'tlsFingerprint'> {
  let tlsFingerprint: string | null = null;
  if (fingerprint !== null) {
    tlsFingerprint = parseFingerprint(fingerprint);
    if (!tlsFingerprint) throw new PortcullisError('bad-request', 'tls fingerprint must be "sha256:" and 64 hex digits (portcullis target fetch-cert shows it)');
  }
  if (tlsCaPem !== null) checkCaPem(tlsCaPem);
  if (tlsMode === 'disable' && (tlsCaPem !== null || tlsFingerprint !== null)) {
    throw new PortcullisError('bad-request', 'a TLS CA or fingerprint was given with tls disable; drop one or the other');
  }
  return { tlsMode, tlsCaPem, tlsFingerprint };
}

/** Refuses settings that cannot tell the genuine server from an impostor, unless opted in. */
export function refuseUnverifiableTls(t: TargetRecord): void {
  if (t.kind === 'ssh' || t.tlsMode === 'disable') return;
  const weak = settingsProblem({ target: t.name, mode: t.tlsMode, caPem: t.tlsCaPem, fingerprint: t.tlsFingerprint, allowUnverified: t.allowWeakUpstreamAuth });
  if (weak) {
    throw new PortcullisError('bad-request', 'tls require without --tls-ca or --tls-fingerprint encrypts but cannot tell the genuine server from an ' +
      'impostor: pin its certificate (--tls-fingerprint, see portcullis target fetch-cert), give its CA (--tls-ca FILE), or opt in with --allow-weak-upstream-auth');
  }
}

function checkCaPem(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0 || pem.length > 1024 * 1024) throw new PortcullisError('bad-request', 'the TLS CA must be PEM certificates (-----BEGIN CERTIFICATE-----)');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      throw new PortcullisError('bad-request', 'the TLS CA file holds a certificate that does not parse');
    }
  }
}
