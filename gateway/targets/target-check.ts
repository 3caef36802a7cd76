// `portcullis target test`, the protocol-neutral half: is the target reachable over TCP, then open
// its vaulted credential for this one check, hand it to the protocol's login probe, and wipe it
// whatever happens. The probes themselves (ssh/probe.ts, postgres/probe.ts, mysql/probe.ts) speak
// the protocols; the protocol registry picks one per target kind. This module knows no protocol.
// Results never include the credential or the presented host key (no fingerprint oracle).
import { connect as tcpConnect } from 'node:net';
import type { TargetRecord } from '../store/records.js';
import type { CheckedOutCredential, CredentialVault } from '../vault/credential-vault.js';

export interface CheckResult {
  ok: boolean;
  reachable: boolean;
  login: 'ok' | 'failed' | 'not-checked';
  detail: string;
  /** Database targets: how the TLS certificate was verified, or why it was refused. */
  tls?: string;
}

/** What a login probe reports; `detail` is shown to the admin, so it never carries a secret. */
export interface LoginOutcome {
  ok: boolean;
  detail: string;
  tls?: string;
}

/** Logs in to one target with its opened credential. The caller wipes the credential afterwards. */
export type LoginProbe = (target: TargetRecord, cred: CheckedOutCredential) => Promise<LoginOutcome>;

/** How long a probe may take to reach and log in; shared so every protocol gives up alike. */
export const PROBE_TIMEOUT_MS = 8000;

export async function checkTarget(t: TargetRecord, creds: CredentialVault, probe: LoginProbe): Promise<CheckResult> {
  // The credential first: one that does not open for the target as it stands (re-pointed in the
  // store) is refused before anything, even a bare TCP connect, goes to the new address.
  const secret = creds.checkoutForCheck(t);
  try {
    const reach = await tcpReachable(t.host, t.port);
    if (!reach.ok) return { ok: false, reachable: false, login: 'not-checked', detail: `cannot reach ${t.host}:${t.port}: ${reach.error}` };
    const r = await probe(t, secret);
    return { ok: r.ok, reachable: true, login: r.ok ? 'ok' : 'failed', detail: r.detail, ...(r.tls !== undefined ? { tls: r.tls } : {}) };
  } finally {
    secret.wipe();
  }
}

function tcpReachable(host: string, port: number): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port, timeout: PROBE_TIMEOUT_MS });
    s.once('connect', () => { s.destroy(); resolve({ ok: true }); });
    s.once('timeout', () => { s.destroy(); resolve({ ok: false, error: 'timed out' }); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? 'error' }));
  });
}
