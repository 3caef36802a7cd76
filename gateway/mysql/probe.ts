// `target test` for MySQL/MariaDB targets: a real login with the mysql2 client. Translates mysql2's
// outcome into a LoginOutcome; reachability and the credential's lifetime are the caller's
// (targets/target-check.ts).
import mysql from 'mysql2/promise';
import type { TargetRecord } from '../session/adapter.js';
import { type LoginOutcome, PROBE_TIMEOUT_MS } from '../targets/target-check.js';

export async function probeMysqlLogin(t: TargetRecord, cred: { secret: Buffer }): Promise<LoginOutcome> {
  try {
    const conn = await mysql.createConnection({
      host: t.host, port: t.port, user: t.account, password: cred.secret.toString(), connectTimeout: PROBE_TIMEOUT_MS,
      ...(t.database ? { database: t.database } : {}),
    });
    await conn.end();
    return { ok: true, detail: 'logged in' };
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    return { ok: false, detail: `login failed (${code})` };
  }
}
