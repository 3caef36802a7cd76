// `target test` on a target that opted in to weak upstream authentication: the audited detail says
// which weak method handed the password out even when the login then failed (the audit entry is
// target.tested's detail; a session would have written upstream.weak_auth before sending).
import { afterEach, describe, expect, it } from 'vitest';
import { probePostgresLogin } from '../../gateway/postgres/probe.js';
import type { TargetRecord } from '../../gateway/store/records.js';
import { auth, msg, type PgImpostor, startPgImpostor } from '../harness/impostors/pg-impostor.js';

let imp: PgImpostor | null = null;
afterEach(() => imp?.close());

const target = (port: number): TargetRecord => ({
  id: 't1', name: 'weak-db', kind: 'postgres', host: '127.0.0.1', port, account: 'app', credentialKind: 'password', credentialSealed: '',
  hostKey: null, database: null, tlsMode: 'disable', tlsCaPem: null, tlsFingerprint: null, allowWeakUpstreamAuth: true, rsaKeyFingerprint: null,
  tags: [], credentialMode: 'static', levels: [{ name: 'default', grants: [] }], rotate: 'off', ephemeralReassignTo: null, ephemeralKeepHome: false, pendingCredentialSealed: null, rotatedAt: null, createdAt: 0,
});

describe('target test detail', () => {
  it('names the weak method used when the login then failed', async () => {
    imp = await startPgImpostor(async (c) => {
      c.send(auth(3));
      await c.next();
      c.send(msg('E', Buffer.from('SFATAL\0C28P01\0Mpassword authentication failed\0\0')));
      await c.drain();
    });
    const secret = Buffer.from('Vaulted-Canary-1');
    const r = await probePostgresLogin(target(imp.port), { kind: 'password', account: 'app', secret, wipe: () => secret.fill(0) });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/refused the vaulted credential/);
    expect(r.detail).toMatch(/pg-cleartext/);
    expect(imp.received().toString('latin1')).toContain('Vaulted-Canary-1');
  });
});
