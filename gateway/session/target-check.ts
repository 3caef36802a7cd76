// `portcullis target test`: can the gateway reach the target and log in with the vaulted credential?
// SSH: a real login with ssh2, host key checked against the pinned fingerprint. MySQL: a real login
// with mysql2. PostgreSQL: the gateway's own upstream login (SCRAM/MD5/cleartext, TLS as configured).
// Results never include the credential or the presented host key (no fingerprint oracle).
import { createHash } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import mysql from 'mysql2/promise';
import ssh2 from 'ssh2';
import type { TargetRecord } from '../store/records.js';
import type { CheckedOutCredential, CredentialVault } from '../vault/credential-vault.js';
import { PgUpstreamError, connectPgUpstream } from '../postgres/upstream.js';

export interface CheckResult {
  ok: boolean;
  reachable: boolean;
  login: 'ok' | 'failed' | 'not-checked';
  detail: string;
}

const TIMEOUT_MS = 8000;

export async function checkTarget(t: TargetRecord, creds: CredentialVault): Promise<CheckResult> {
  const reach = await tcpReachable(t.host, t.port);
  if (!reach.ok) return { ok: false, reachable: false, login: 'not-checked', detail: `cannot reach ${t.host}:${t.port}: ${reach.error}` };
  const secret = creds.checkoutForCheck(t);
  try {
    switch (t.kind) {
      case 'ssh': return await sshLogin(t, secret.secret);
      case 'mysql': return await mysqlLogin(t, secret.secret);
      case 'postgres': return await postgresLogin(t, secret);
    }
  } finally {
    secret.wipe();
  }
}

function tcpReachable(host: string, port: number): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port, timeout: TIMEOUT_MS });
    s.once('connect', () => { s.destroy(); resolve({ ok: true }); });
    s.once('timeout', () => { s.destroy(); resolve({ ok: false, error: 'timed out' }); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? 'error' }));
  });
}

function sshLogin(t: TargetRecord, secret: Buffer): Promise<CheckResult> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let hostKeyOk = false;
    const done = (r: CheckResult): void => { c.end(); resolve(r); };
    c.once('ready', () => done({ ok: true, reachable: true, login: 'ok', detail: 'logged in' }));
    c.once('error', (e: Error & { level?: string }) => {
      if (!hostKeyOk) return done({ ok: false, reachable: true, login: 'failed', detail: 'host key does not match the pinned fingerprint' });
      done({ ok: false, reachable: true, login: 'failed', detail: e.level === 'client-authentication' ? 'upstream refused the vaulted credential' : 'ssh handshake failed' });
    });
    c.connect({
      host: t.host, port: t.port, username: t.account, readyTimeout: TIMEOUT_MS,
      ...(t.credentialKind === 'password' ? { password: secret.toString() } : { privateKey: Buffer.from(secret) }),
      hostVerifier: (key: Buffer) => {
        hostKeyOk = fingerprint(key) === t.hostKey;
        return hostKeyOk;
      },
    });
  });
}

async function mysqlLogin(t: TargetRecord, secret: Buffer): Promise<CheckResult> {
  try {
    const conn = await mysql.createConnection({
      host: t.host, port: t.port, user: t.account, password: secret.toString(), connectTimeout: TIMEOUT_MS,
      ...(t.database ? { database: t.database } : {}),
    });
    await conn.end();
    return { ok: true, reachable: true, login: 'ok', detail: 'logged in' };
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    return { ok: false, reachable: true, login: 'failed', detail: `login failed (${code})` };
  }
}

async function postgresLogin(t: TargetRecord, cred: CheckedOutCredential): Promise<CheckResult> {
  try {
    const up = await connectPgUpstream(t, cred, { database: t.database ?? t.account });
    up.socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
    return { ok: true, reachable: true, login: 'ok', detail: 'logged in' };
  } catch (e) {
    const kind = e instanceof PgUpstreamError ? e.kind : 'protocol';
    return { ok: false, reachable: true, login: 'failed', detail: kind === 'auth-failed' ? 'upstream refused the vaulted credential' : `login failed (${kind})` };
  }
}

export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}
