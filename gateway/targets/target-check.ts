// `portcullis target test`, the protocol-neutral half: is the target reachable over TCP, then open
// its vaulted credential for this one check, hand it to the protocol's login probe, and wipe it
// whatever happens. The probes themselves (ssh/probe.ts, postgres/probe.ts, mysql/probe.ts) speak
// the protocols; the protocol registry picks one per target kind. This module knows no protocol.
// Results never include the credential or the presented host key (no fingerprint oracle). For
// ephemeral targets the provisioner check follows a good login and names each missing right or role.
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
  /** Ephemeral targets: what the provisioner lacks to manage accounts at the target's levels (empty: nothing). */
  provisioner?: { ok: boolean; missing: string[] };
}

/** What a target's provisioner lacks for its levels (gateway/provision, AdminSession.checkProvisioner). */
export type ProvisionerCheck = (target: TargetRecord) => Promise<string[]>;

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

export async function checkTarget(t: TargetRecord, creds: CredentialVault, probe: LoginProbe, provisioner?: ProvisionerCheck): Promise<CheckResult> {
  // The credential first: one that does not open for the target as it stands (re-pointed in the
  // store) is refused before anything, even a bare TCP connect, goes to the new address.
  const secret = creds.checkoutForCheck(t);
  try {
    const reach = await tcpReachable(t.host, t.port);
    if (!reach.ok) return { ok: false, reachable: false, login: 'not-checked', detail: `cannot reach ${t.host}:${t.port}: ${reach.error}` };
    const r = await probe(t, secret);
    const tls = r.tls !== undefined ? { tls: r.tls } : {};
    if (!r.ok || t.credentialMode !== 'ephemeral') return { ok: r.ok, reachable: true, login: r.ok ? 'ok' : 'failed', detail: r.detail, ...tls };
    // Ephemeral targets: the login works; can it also create and drop accounts at every level?
    const missing = provisioner
      ? await provisioner(t).catch((err: unknown) => [`the provisioner check failed: ${err instanceof Error ? err.message : 'unknown error'}`])
      : ['no provisioner check for this kind of target'];
    const detail = missing.length === 0
      ? `${r.detail}; the provisioner has every right and level role it needs`
      : `${r.detail}; the provisioner lacks: ${missing.join('; ')}`;
    return { ok: missing.length === 0, reachable: true, login: 'ok', detail, ...tls, provisioner: { ok: missing.length === 0, missing } };
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
