// Issuing ephemeral credentials (gateway/provision/ephemeral-credentials.ts) against a fake
// provisioner: one account per grant, created after its intent row is stored, reused by the
// grant's later sessions, refused clearly when it cannot be made, opened again after a master key
// rotation; static targets keep the vaulted secret.
import { afterEach, describe, expect, it } from 'vitest';
import { ProvisionError } from '../../gateway/provision/provisioner.js';
import { UpstreamFailure } from '../../gateway/session/upstream-failure.js';
import { aadFor } from '../../gateway/vault/vault.js';
import { type EphemeralFixture, ephemeralFixture, eventually } from '../support/ephemeral-fixture.js';

let f: EphemeralFixture;
afterEach(async () => { await f.close(); });

const auditOf = async (code: string): Promise<Array<Record<string, unknown>>> =>
  (await f.t.app.audit.page(0, 10_000)).filter((e) => e.code === code).map((e) => e.data as Record<string, unknown>);

describe('ephemeral credentials', () => {
  it('creates the grant\'s account once, after its intent row, and reuses it for later sessions', async () => {
    f = await ephemeralFixture();
    const g = await f.grant({ level: 'write' });
    const first = await f.t.app.ephemeral.credentials.issue(g, f.target);
    expect(first.source).toBe('ephemeral');
    expect(first.account).toMatch(/^pcx_[a-z2-7]{12}$/);
    expect(first.kind).toBe('password');
    expect(first.secret.toString()).toBe(f.fake.secrets[0]);
    // The fake looked at the store when it was asked to create: the intent was already there.
    expect(f.fake.calls.filter((c) => c.op === 'create')).toEqual([{ op: 'create', account: first.account, rowState: 'creating' }]);
    const second = await f.t.app.ephemeral.credentials.issue(g, f.target);
    expect(second.account).toBe(first.account);
    expect(second.secret.toString()).toBe(f.fake.secrets[0]);
    expect(f.fake.count('create')).toBe(1);
    const row = await f.t.app.store.ephemeral.forGrant(g.id);
    expect(row).toMatchObject({ state: 'active', level: 'write', expiresAt: g.expiresAt, account: first.account });
    expect(row?.secretSealed).not.toContain(f.fake.secrets[0]);
    expect(await auditOf('ephemeral.created')).toEqual([{ target: 'db1', grant: g.id, account: first.account, level: 'write' }]);
    // Revoking a session's credential wipes our copy; the account stays for the grant.
    await f.t.app.ephemeral.credentials.revoke(second);
    expect(second.secret.every((b) => b === 0)).toBe(true);
    expect(f.fake.count('drop')).toBe(0);
  });

  it('gives concurrent sessions of one grant one account', async () => {
    f = await ephemeralFixture();
    const g = await f.grant();
    f.fake.hold();
    const issues = Array.from({ length: 5 }, () => f.t.app.ephemeral.credentials.issue(g, f.target));
    await eventually(() => f.fake.count('create') === 1);
    f.fake.release();
    const got = await Promise.all(issues);
    expect(new Set(got.map((c) => c.account)).size).toBe(1);
    expect(new Set(got.map((c) => c.secret.toString()))).toEqual(new Set([f.fake.secrets[0]]));
    expect(f.fake.count('create')).toBe(1);
    // Two grants get two accounts.
    const other = await f.t.app.ephemeral.credentials.issue(await f.grant(), f.target);
    expect(other.account).not.toBe(got[0]!.account);
  });

  it('waits for the account another gateway node is creating for the grant, and uses it', async () => {
    f = await ephemeralFixture();
    const g = await f.grant();
    const row = {
      id: 'eph_othernode', targetId: f.target.id, grantId: g.id, account: 'pcx_othernode2345', level: 'read', state: 'creating' as const,
      secretSealed: null, createdAt: f.t.clock.now(), expiresAt: g.expiresAt, dropAttempts: 0, lastError: null, droppedAt: null,
    };
    await f.t.app.store.ephemeral.insert(row);
    const issuing = f.t.app.ephemeral.credentials.issue(g, f.target);
    await new Promise((r) => setTimeout(r, 20));
    await f.t.app.store.ephemeral.update({ ...row, state: 'active', secretSealed: f.t.app.vault.seal('other-node-secret', aadFor.ephemeral(row.id, row.targetId, row.account)) });
    for (let i = 0; i < 10; i++) { f.t.clock.advance(300); await new Promise((r) => setTimeout(r, 5)); }
    const c = await issuing;
    expect(c.account).toBe('pcx_othernode2345');
    expect(c.secret.toString()).toBe('other-node-secret');
    expect(f.fake.count('create')).toBe(0);
  });

  it('refuses a level the target does not define, and a target kind without a provisioner, in words the client sees', async () => {
    f = await ephemeralFixture();
    const err = await f.t.app.ephemeral.credentials.issue(await f.grant({ level: 'admin' }), f.target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as Error).message).toBe('could not create your account on db1: level "admin" is not defined on db1 (it has read, write)');
    const ssh = { ...f.target, kind: 'ssh' as const };
    const err2 = await f.t.app.ephemeral.credentials.issue(await f.grant(), ssh).catch((e: unknown) => e);
    expect((err2 as Error).message).toBe('could not create your account on db1: Portcullis cannot create accounts on ssh targets');
    expect(f.fake.count('login')).toBe(0);
    expect((await auditOf('ephemeral.create_failed')).map((d) => d.error)).toHaveLength(2);
  });

  it('tells the client why creating failed, audits it, and drops what may have been made', async () => {
    f = await ephemeralFixture();
    const g = await f.grant();
    f.fake.createError = new ProvisionError('no-such-level-grant', 'role "pc_read" does not exist');
    const err = await f.t.app.ephemeral.credentials.issue(g, f.target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as Error).message).toBe('could not create your account on db1: role "pc_read" does not exist');
    const account = f.fake.calls.find((c) => c.op === 'create')?.account;
    await eventually(async () => (await f.t.app.store.ephemeral.forGrant(g.id)) === undefined);
    expect(f.fake.calls.filter((c) => c.op === 'drop').map((c) => c.account)).toEqual([account]);
    expect(await auditOf('ephemeral.create_failed')).toEqual([{ target: 'db1', grant: g.id, account, level: 'read', error: 'role "pc_read" does not exist' }]);
    // The next session tries again from scratch.
    f.fake.createError = null;
    const c = await f.t.app.ephemeral.credentials.issue(g, f.target);
    expect(c.account).not.toBe(account);
  });

  it('keeps the vaulted credential for static targets', async () => {
    f = await ephemeralFixture();
    // The mode is bound to the credential: changing it goes through the service with the credential.
    const target = (await f.t.app.targets.update('admin', 'db1', {
      credentialMode: 'static', levels: [{ name: 'read', grants: [] }, { name: 'write', grants: [] }], ephemeralReassignTo: null, password: 'provisioner-secret-1',
    })).target;
    const c = await f.t.app.ephemeral.credentials.issue(await f.grant(), target);
    expect(c).toMatchObject({ source: 'static', account: 'provisioner' });
    expect(c.secret.toString()).toBe('provisioner-secret-1');
    expect(f.fake.calls).toEqual([]);
  });

  it('opens an account\'s secret after a master key rotation re-sealed it', async () => {
    f = await ephemeralFixture();
    const g = await f.grant();
    const before = await f.t.app.ephemeral.credentials.issue(g, f.target);
    const sealedBefore = (await f.t.app.store.ephemeral.forGrant(g.id))?.secretSealed;
    const r = await f.t.app.creds.rotateKey();
    expect(r.verified).toBe(true);
    expect((await f.t.app.store.ephemeral.forGrant(g.id))?.secretSealed).not.toBe(sealedBefore);
    const after = await f.t.app.ephemeral.credentials.issue(g, f.target);
    expect(after.account).toBe(before.account);
    expect(after.secret.toString()).toBe(f.fake.secrets[0]);
    expect(f.fake.count('create')).toBe(1);
  });
});
