// `target test` for PostgreSQL targets: the gateway's own upstream login (the same code a session
// uses: TLS verified as configured before anything is sent, then the login), then a Terminate.
// Translates the upstream's failure kind into a LoginOutcome, with the TLS verification result;
// reachability and the credential's lifetime are the caller's (targets/target-check.ts).
import type { TargetRecord } from '../session/adapter.js';
import type { LoginOutcome } from '../targets/target-check.js';
import { PgUpstreamError, connectPgUpstream } from './upstream.js';

/** The credential shape the upstream leg takes (declared there, so this file needs no vault import). */
type UpstreamCredential = Parameters<typeof connectPgUpstream>[1];

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

export async function probePostgresLogin(t: TargetRecord, cred: UpstreamCredential): Promise<LoginOutcome> {
  try {
    const up = await connectPgUpstream(t, cred, { database: t.database ?? t.account });
    up.socket.end(TERMINATE);
    return { ok: true, detail: 'logged in', tls: up.tls ?? 'not used (tls disable)' };
  } catch (e) {
    const kind = e instanceof PgUpstreamError ? e.kind : 'protocol';
    // A TLS refusal's message names the certificate and the fix, and never a secret.
    if (kind === 'tls' && e instanceof Error) return { ok: false, detail: 'TLS not verified: the credential was not sent', tls: e.message };
    return { ok: false, detail: kind === 'auth-failed' ? 'upstream refused the vaulted credential' : `login failed (${kind})` };
  }
}
