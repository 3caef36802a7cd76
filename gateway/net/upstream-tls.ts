// The TLS handshake on the upstream leg of a database target, after the protocol's own upgrade
// request (PostgreSQL SSLRequest, MySQL SSL request packet) was answered. Node is told not to reject
// anything itself, so every handshake ends in the one decision of tls-verdict.ts, taken on the
// facts gathered here (leaf fingerprint, chain, name) BEFORE the caller writes a single byte of
// its login on the connection. A refused certificate destroys the socket. It does not speak any
// database protocol and never sees a credential.
import { isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { certFingerprint, judgeCertificate, type PresentedCertificate, type TlsSettings, type TlsVerdict } from './tls-verdict.js';

/** A refused or failed upstream TLS handshake; the message is for the admin and the user. */
export class UpstreamTlsError extends Error {}

/** What `target fetch-cert` shows an admin before pinning. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** DNS names and IP addresses, as "DNS:x" / "IP Address:y". */
  sans: string[];
  validFrom: string;
  validTo: string;
  fingerprint: string;
  /** Does the chain verify against the system CAs (or the CA given), and is it for the host? */
  chainError: string | null;
  nameError: string | null;
}

export interface TlsHandshake {
  socket: TLSSocket;
  presented: PresentedCertificate;
  info: CertificateInfo;
}

/** The verified upstream: the TLS socket and how it was verified (for `target test` and logs). */
export interface VerifiedTls {
  socket: TLSSocket;
  verdict: Extract<TlsVerdict, { ok: true }>;
}

const HANDSHAKE_MS = 15_000;

/** Runs the handshake on `raw` and reports what the server presented; verifies nothing itself. */
export function tlsHandshake(raw: Socket, host: string, caPem: string | null, timeoutMs = HANDSHAKE_MS): Promise<TlsHandshake> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket: raw, host, servername: isIP(host) ? undefined : host,
      ...(caPem !== null ? { ca: caPem } : {}),
      // The decision is judgeCertificate's, taken below before the caller writes anything.
      rejectUnauthorized: false, checkServerIdentity: () => undefined,
    });
    // Errors after the handshake surface to the caller as a close; an 'error' with no listener
    // would take the process down, so both legs always keep one.
    const ignore = (): void => undefined;
    raw.on('error', ignore);
    tls.on('error', ignore);
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tls.destroy();
      raw.destroy();
      reject(new UpstreamTlsError(message));
    };
    const timer = setTimeout(() => fail(`the TLS handshake with ${host} did not finish in ${timeoutMs / 1000} s`), timeoutMs);
    const onError = (e: Error): void => fail(`the TLS handshake with ${host} failed: ${e.message}`);
    const onClose = (): void => fail(`${host} closed the connection during the TLS handshake`);
    tls.once('error', onError);
    tls.once('close', onClose);
    tls.once('secureConnect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tls.off('error', onError);
      tls.off('close', onClose);
      const cert = tls.getPeerCertificate(true);
      if (!cert.raw) { settled = false; fail(`${host} presented no TLS certificate`); return; }
      const chainError = tls.authorized ? null : String(tls.authorizationError ?? 'unverified');
      const nameError = checkServerIdentity(host, cert)?.message ?? null;
      const presented: PresentedCertificate = { fingerprint: certFingerprint(cert.raw), chainError, nameError };
      resolve({ socket: tls, presented, info: describe(cert, presented) });
    });
  });
}

/**
 * The handshake and the decision: resolves with the socket only when the certificate passes the
 * target's settings; otherwise the connection is destroyed and the reason thrown.
 */
export async function verifiedTls(raw: Socket, s: TlsSettings, timeoutMs = HANDSHAKE_MS): Promise<VerifiedTls> {
  const h = await tlsHandshake(raw, s.host, s.caPem, timeoutMs);
  const verdict = judgeCertificate(s, h.presented);
  if (!verdict.ok) {
    h.socket.destroy();
    throw new UpstreamTlsError(verdict.reason);
  }
  return { socket: h.socket, verdict };
}

function describe(cert: DetailedPeerCertificate, presented: PresentedCertificate): CertificateInfo {
  const dn = (x: Record<string, string | string[] | undefined> | undefined): string =>
    Object.entries(x ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v ?? ''}`).join(', ');
  return {
    subject: dn(cert.subject),
    issuer: dn(cert.issuer),
    sans: (cert.subjectaltname ?? '').split(', ').filter(Boolean),
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: new Date(cert.valid_to).toISOString(),
    fingerprint: presented.fingerprint,
    chainError: presented.chainError,
    nameError: presented.nameError,
  };
}
