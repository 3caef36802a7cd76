// `target test` for PostgreSQL targets: the gateway's own upstream login (TLS verified as configured
// before anything is sent; SCRAM with the server's signature checked, cleartext/MD5 only where the
// target opted in), then a Terminate. Translates the upstream's failure into a LoginOutcome (a
// refused weak method says why, a TLS refusal which certificate), with the TLS verification result;
// reachability and the credential's lifetime are the caller's (targets/target-check.ts).
import type { TargetRecord } from '../session/adapter.js';
import { probeFailureDetail, type WeakUpstreamAuth } from '../session/upstream-auth.js';
import type { LoginOutcome } from '../targets/target-check.js';
import { connectPgUpstream, PgUpstreamError } from './upstream.js';

/** The credential shape the upstream leg takes (declared there, so this file needs no vault import). */
type UpstreamCredential = Parameters<typeof connectPgUpstream>[1];

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

export async function probePostgresLogin(t: TargetRecord, cred: UpstreamCredential): Promise<LoginOutcome> {
  const weak: WeakUpstreamAuth[] = [];
  try {
    const up = await connectPgUpstream(t, cred, { database: t.database ?? t.account }, { onWeakAuth: (m) => weak.push(m) });
    up.socket.end(TERMINATE);
    return {
      ok: true, detail: weak.length ? `logged in (weak upstream authentication allowed for this target: ${weak.join(', ')})` : 'logged in',
      tls: up.tls ?? 'not used (tls disable)',
    };
  } catch (e) {
    // A TLS refusal's message names the certificate and the fix, and never a secret.
    if (e instanceof PgUpstreamError && e.kind === 'tls') return { ok: false, detail: 'TLS not verified: the credential was not sent', tls: e.message };
    // The password may already have gone out by a weak method (the target opted in): the audited detail says so.
    return { ok: false, detail: probeFailureDetail(e) + (weak.length ? ` (after weak upstream authentication: ${weak.join(', ')})` : '') };
  }
}
