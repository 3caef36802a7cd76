// Database targets' TLS settings: what `target add` accepts (verify-full by default, a pin or a CA,
// require only with one of them or the named opt-in), the migration that keeps old targets' modes,
// and the upstream legs refusing settings that cannot verify before they open any connection.
import Database from 'better-sqlite3';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectMyUpstream } from '../../gateway/mysql/upstream.js';
import { connectPgUpstream } from '../../gateway/postgres/upstream.js';
import type { TargetRecord } from '../../gateway/store/records.js';
import { migrate } from '../../gateway/store/sqlite/migrations.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { UpstreamFailure } from '../../gateway/session/upstream-failure.js';
import { testTls } from '../harness/test-ca.js';
import { testApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeEach(async () => { t = await testApp(); });
afterEach(async () => { await t.close(); });

const db = (over: Record<string, unknown> = {}): Parameters<TestApp['app']['targets']['add']>[1] =>
  ({ name: 'db01', kind: 'postgres', host: '127.0.0.1', port: 5432, account: 'app', password: 'vaulted-secret-1', ...over });

describe('target add', () => {
  it('defaults database targets to verify-full and stores the pin normalized', async () => {
    expect(await t.app.targets.add('admin', db())).toMatchObject({ tlsMode: 'verify-full', tlsCaPem: null, tlsFingerprint: null, allowWeakUpstreamAuth: false });
    const pinned = await t.app.targets.add('admin', db({ name: 'db02', tlsFingerprint: 'SHA256:' + Array(32).fill('AB').join(':') }));
    expect(pinned.tlsFingerprint).toBe('sha256:' + 'ab'.repeat(32));
    const ca = await t.app.targets.add('admin', db({ name: 'db03', tls: 'verify-ca', tlsCaPem: testTls().caPem }));
    expect(ca).toMatchObject({ tlsMode: 'verify-ca', tlsCaPem: testTls().caPem });
  });

  it('refuses require without a CA or pin unless opted in by name, and audits the opt-in', async () => {
    await expect(t.app.targets.add('admin', db({ tls: 'require' }))).rejects.toThrow(/--tls-fingerprint.*--tls-ca.*--allow-weak-upstream-auth/);
    await t.app.targets.add('admin', db({ name: 'db02', tls: 'require', tlsFingerprint: 'sha256:' + 'a'.repeat(64) }));
    const weak = await t.app.targets.add('admin', db({ name: 'db03', tls: 'require', allowWeakUpstreamAuth: true }));
    expect(weak.allowWeakUpstreamAuth).toBe(true);
    const entries = await t.app.audit.page(0, 100);
    const created = entries.filter((e) => e.code === 'target.created').map((e) => e.data as Record<string, unknown>);
    expect(created.find((d) => d.target === 'db03')).toMatchObject({ tls: 'require', tls_ca: false, tls_fingerprint: null, allowWeakUpstreamAuth: true });
    expect(created.find((d) => d.target === 'db02')).toMatchObject({ tls_fingerprint: 'sha256:' + 'a'.repeat(64) });
  });

  it('refuses malformed pins and CAs, TLS settings on ssh targets, and a CA or pin with tls disable', async () => {
    await expect(t.app.targets.add('admin', db({ tlsFingerprint: 'sha256:abc' }))).rejects.toThrow(/64 hex digits/);
    await expect(t.app.targets.add('admin', db({ tlsCaPem: 'not a pem' }))).rejects.toThrow(/PEM certificates/);
    await expect(t.app.targets.add('admin', db({ tlsCaPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }))).rejects.toThrow(/does not parse/);
    await expect(t.app.targets.add('admin', db({ tls: 'disable', tlsFingerprint: 'sha256:' + 'a'.repeat(64) }))).rejects.toThrow(/tls disable/);
    await expect(t.app.targets.add('admin', db({ kind: 'ssh', hostKey: 'SHA256:' + 'A'.repeat(43), tls: 'verify-full' }))).rejects.toThrow(/database targets/);
    expect(await t.app.targets.add('admin', db({ name: 'plain', tls: 'disable' }))).toMatchObject({ tlsMode: 'disable' });
  });
});

describe('migrations 8 to 10', () => {
  it('keeps the TLS mode of targets from an older database and adds no pin and no opt-in', () => {
    const file = join(t.dir, 'old.db');
    const raw = new Database(file);
    migrate(raw, 7);
    raw.exec(`INSERT INTO targets (id, name, kind, host, port, account, credential_kind, credential_sealed, host_key, database, tls_mode, tls_ca_pem, tags, created_at)
      VALUES ('tgt_old', 'legacy-db', 'postgres', '10.0.0.5', 5432, 'app', 'password', 'sealed', NULL, NULL, 'require', NULL, '[]', 1)`);
    // The schema an older gateway (migration 7) left; opening the store runs 8 onwards.
    raw.close();
    const store = openSqliteStore(file);
    return store.targets.byName('legacy-db').then(async (rec) => {
      expect(rec).toMatchObject({ tlsMode: 'require', tlsCaPem: null, tlsFingerprint: null, allowWeakUpstreamAuth: false, credentialMode: 'static', levels: [{ name: 'default', grants: [] }], rotate: 'off' });
      await store.close();
    });
  });
});

describe('an old require target without CA or pin, at session start', () => {
  let server: Server;
  let connections = 0;
  let port = 0;
  beforeEach(async () => {
    connections = 0;
    server = createServer((s) => { connections++; s.destroy(); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterEach(async () => { await new Promise((r) => server.close(r)); });

  const legacy = (kind: 'postgres' | 'mysql'): TargetRecord => ({
    id: 'tgt_x', name: 'legacy-db', kind, host: '127.0.0.1', port, account: 'app', credentialKind: 'password', credentialSealed: 's',
    hostKey: null, database: null, tlsMode: 'require', tlsCaPem: null, tlsFingerprint: null, allowWeakUpstreamAuth: false, rsaKeyFingerprint: null, tags: [], credentialMode: 'static', levels: [{ name: 'default', grants: [] }], rotate: 'off', ephemeralReassignTo: null, ephemeralKeepHome: false, pendingCredentialSealed: null, rotatedAt: null, createdAt: 1,
  });
  const cred = (): { kind: 'password'; account: string; secret: Buffer; wipe(): void } => {
    const secret = Buffer.from('vaulted-secret-1');
    return { kind: 'password', account: 'app', secret, wipe: () => secret.fill(0) };
  };

  it('is refused with the fix named, before any connection, and the secret is wiped', async () => {
    for (const kind of ['postgres', 'mysql'] as const) {
      const c = cred();
      const p = kind === 'postgres' ? connectPgUpstream(legacy(kind), c, {}) : connectMyUpstream(legacy(kind), c, { caps: 0, extCaps: 0, charset: 45, database: null });
      const err = await p.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamFailure);
      expect((err as UpstreamFailure).kind).toBe('tls');
      expect((err as Error).message).toMatch(/legacy-db is set to tls require without a CA or a pinned certificate.*--tls-fingerprint.*fetch-cert.*--tls-ca.*--allow-weak-upstream-auth/);
      expect(c.secret.every((b) => b === 0)).toBe(true);
    }
    expect(connections).toBe(0);
  });
});
