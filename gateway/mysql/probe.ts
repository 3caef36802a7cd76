// `target test` for MySQL/MariaDB targets: the gateway's own upstream login (the same code a
// session uses: TLS verified as configured before anything is sent, then the login), then
// COM_QUIT. Translates the upstream's failure kind into a LoginOutcome, with the TLS verification
// result; reachability and the credential's lifetime are the caller's (targets/target-check.ts).
import type { TargetRecord } from '../session/adapter.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import type { LoginOutcome } from '../targets/target-check.js';
import { connectMyUpstream } from './upstream.js';
import { CAP } from './wire/capabilities.js';
import { packet } from './wire/packets.js';

type UpstreamCredential = Parameters<typeof connectMyUpstream>[1];

/** What a plain client asks for; the upstream leg masks off what it never negotiates. */
const PROBE_CAPS = CAP.LONG_PASSWORD | CAP.LONG_FLAG | CAP.PROTOCOL_41 | CAP.TRANSACTIONS | CAP.SECURE_CONNECTION |
  CAP.MULTI_RESULTS | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA;
/** utf8mb4_general_ci */
const UTF8MB4 = 45;
const COM_QUIT = Buffer.from([0x01]);

export async function probeMysqlLogin(t: TargetRecord, cred: UpstreamCredential): Promise<LoginOutcome> {
  try {
    const up = await connectMyUpstream(t, cred, { caps: PROBE_CAPS, extCaps: 0, charset: UTF8MB4, database: t.database });
    up.socket.end(packet(0, COM_QUIT));
    return { ok: true, detail: 'logged in', tls: up.tls ?? 'not used (tls disable)' };
  } catch (e) {
    const kind = e instanceof UpstreamFailure ? e.kind : 'protocol';
    if (kind === 'tls' && e instanceof Error) return { ok: false, detail: 'TLS not verified: the credential was not sent', tls: e.message };
    return { ok: false, detail: kind === 'auth-failed' ? 'upstream refused the vaulted credential' : `login failed (${kind}${e instanceof UpstreamFailure && e.targetCode ? ` ${e.targetCode}` : ''})` };
  }
}
