// Someone who can write the store attacks the ephemeral accounts: a row of an ended grant pointed
// at the account of another user's live grant must not make the reconciler drop that account; a row
// pointed at a live grant of another target, or at a grant of another level, must not keep its
// account alive. The fake provisioner stands for the target (reconciler decisions only).
import { afterEach, describe, expect, it } from 'vitest';
import type { EphemeralAccountRecord } from '../../gateway/store/records.js';
import { aadFor } from '../../gateway/vault/vault.js';
import { type EphemeralFixture, ephemeralFixture, eventually } from '../support/ephemeral-fixture.js';

let f: EphemeralFixture;
afterEach(async () => { await f.close(); });

const row = (over: Partial<EphemeralAccountRecord> & Pick<EphemeralAccountRecord, 'id' | 'grantId' | 'account'>): EphemeralAccountRecord => ({
  targetId: f.target.id, level: 'read', state: 'active', secretSealed: null, createdAt: f.t.clock.now(),
  expiresAt: f.t.clock.now() + 3_600_000, dropAttempts: 0, lastError: null, droppedAt: null, ...over,
});

describe('ephemeral rows edited in the store', () => {
  it('a row of an ended grant carrying the name of another user\'s live account does not drop that account', async () => {
    f = await ephemeralFixture();
    const bob = await f.t.user('bob', ['dev']);
    const live = await f.grant({ user: bob, ms: 3_600_000 });
    const victim = (await f.t.app.ephemeral.credentials.issue(live, f.target)).account;
    const ended = await f.grant({ ms: 3_600_000 });
    await f.t.app.store.ephemeral.insert(row({ id: 'eph_tampered', grantId: ended.id, account: victim }));
    await f.t.app.grants.revoke(f.t.admin, ended.id, 'done');
    await eventually(async () => ((await f.t.app.store.ephemeral.byId('eph_tampered'))?.dropAttempts ?? 0) >= 1);
    expect(f.fake.calls.filter((c) => c.op === 'drop')).toEqual([]);
    expect(f.fake.accounts.has(victim)).toBe(true);
    expect((await f.t.app.store.ephemeral.byId('eph_tampered'))?.lastError).toContain('also the account of a live grant');
    expect((await f.t.app.store.ephemeral.forGrant(live.id))?.state).toBe('active');
    // Once the live grant ends too, both rows go and the account is dropped.
    await f.t.app.grants.revoke(f.t.admin, live.id, 'done');
    // forGrant reads live rows only: the listing shows the dropped one.
    await eventually(async () => (await f.t.app.store.ephemeral.list({})).find((r) => r.grantId === live.id)?.state === 'dropped');
    expect(f.fake.accounts.has(victim)).toBe(false);
  });

  it('a row pointed at a live grant of another target, or at a grant of another level, is dropped', async () => {
    f = await ephemeralFixture({ start: false });
    const other = await f.t.app.targets.add('admin', {
      name: 'db2', kind: 'postgres', host: '127.0.0.1', port: 5433, account: 'provisioner', password: 'provisioner-secret-2',
    });
    const elsewhere = await f.t.app.store.transaction(() => f.t.app.grants.createInTx('admin', {
      userId: f.alice.id, targetId: other.id, durationMs: 3_600_000, reason: 'test', ticket: null, source: 'admin', level: 'default',
    }));
    const readGrant = await f.grant({ ms: 3_600_000, level: 'read' });
    await f.t.app.store.ephemeral.insert(row({ id: 'eph_othertarget', grantId: elsewhere.id, account: 'pcx_othertargeta' }));
    await f.t.app.store.ephemeral.insert(row({ id: 'eph_otherlevel', grantId: readGrant.id, account: 'pcx_otherlevelab', level: 'write' }));
    await f.t.app.ephemeral.start();
    expect(f.fake.calls.filter((c) => c.op === 'drop').map((c) => c.account).sort()).toEqual(['pcx_otherlevelab', 'pcx_othertargeta']);
  });

  it('a session never uses an account row of another level moved onto its grant', async () => {
    f = await ephemeralFixture();
    const readGrant = await f.grant({ ms: 3_600_000, level: 'read' });
    const id = 'eph_movedwrite';
    await f.t.app.store.ephemeral.insert(row({
      id, grantId: readGrant.id, account: 'pcx_movedwriteab', level: 'write',
      secretSealed: f.t.app.vault.seal('write-account-secret', aadFor.ephemeral(id, f.target.id, 'pcx_movedwriteab')),
    }));
    await expect(f.t.app.ephemeral.credentials.issue(readGrant, f.target)).rejects.toThrow(/does not match the grant/);
  });
});
