// `target test` for MySQL/MariaDB targets: the gateway's own upstream login (so the probe obeys the
// same rules as sessions: the password in clear only over verified TLS, RSA only to the pinned key,
// weak methods only where the target opted in; TLS verified as configured before anything is sent),
// then COM_QUIT. Translates the upstream's failure
// into a LoginOutcome; reachability and the credential's lifetime are the caller's
// (targets/target-check.ts). A third-party client would answer whatever the server asks.
import type { TargetRecord } from '../session/adapter.js';
import { probeFailureDetail, type WeakUpstreamAuth } from '../session/upstream-auth.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import { type LoginOutcome, PROBE_TIMEOUT_MS } from '../targets/target-check.js';
import { connectMyUpstream } from './upstream.js';
import { CAP } from './wire/capabilities.js';
import { packet } from './wire/packets.js';

type UpstreamCredential = Parameters<typeof connectMyUpstream>[1];

// What a plain client asks for; the upstream leg masks it with the server's own capabilities.
const PROBE_CAPS = CAP.LONG_PASSWORD | CAP.LONG_FLAG | CAP.PROTOCOL_41 | CAP.TRANSACTIONS | CAP.SECURE_CONNECTION
  | CAP.MULTI_RESULTS | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA;
const UTF8MB4_GENERAL_CI = 45;
const COM_QUIT = packet(0, Buffer.from([0x01]));

export async function probeMysqlLogin(t: TargetRecord, cred: UpstreamCredential): Promise<LoginOutcome> {
  const weak: WeakUpstreamAuth[] = [];
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  try {
    // An ephemeral target's vaulted account is its provisioner, which logs in without a database
    // (provisioner.ts) and need not have any right on the target's: asking for it would make MariaDB
    // refuse a provisioner that has every right it needs (error 1044).
    const database = t.credentialMode === 'ephemeral' ? null : t.database;
    const up = await connectMyUpstream(t, cred, { caps: PROBE_CAPS, extCaps: 0, charset: UTF8MB4_GENERAL_CI, database }, {
      signal, onWeakAuth: (m) => weak.push(m),
    });
    up.socket.end(COM_QUIT);
    return {
      ok: true, detail: weak.length ? `logged in (weak upstream authentication allowed for this target: ${weak.join(', ')})` : 'logged in',
      tls: up.tls ?? 'not used (tls disable)',
    };
  } catch (e) {
    // A TLS refusal's message names the certificate and the fix, and never a secret.
    if (e instanceof UpstreamFailure && e.kind === 'tls') return { ok: false, detail: 'TLS not verified: the credential was not sent', tls: e.message };
    // The password may already have gone out by a weak method (the target opted in): the audited detail says so.
    return { ok: false, detail: probeFailureDetail(e) + (weak.length ? ` (after weak upstream authentication: ${weak.join(', ')})` : '') };
  }
}
