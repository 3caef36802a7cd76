// `target test` for PostgreSQL targets: the gateway's own upstream login (SCRAM/MD5/cleartext, TLS
// as configured), then a Terminate. Translates the upstream's failure kind into a LoginOutcome;
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
    return { ok: true, detail: 'logged in' };
  } catch (e) {
    const kind = e instanceof PgUpstreamError ? e.kind : 'protocol';
    return { ok: false, detail: kind === 'auth-failed' ? 'upstream refused the vaulted credential' : `login failed (${kind})` };
  }
}
