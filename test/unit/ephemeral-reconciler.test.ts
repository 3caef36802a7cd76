// The reconciler (gateway/provision/reconciler.ts) against a fake provisioner and a fake clock:
// accounts of grants that expired, were revoked or whose user was disabled are dropped within one
// pass; intents a crashed gateway left `creating` are dropped at start; a target that is down is
// retried with backoff and alerted on once, while the grant has ended at the gateway anyway.
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessEvents } from '../../gateway/access/events.js';
import { type EphemeralFixture, ephemeralFixture, eventually } from '../support/ephemeral-fixture.js';

let f: EphemeralFixture;
afterEach(async () => { await f.close(); });

const auditOf = async (code: string): Promise<Array<Record<string, unknown>>> =>
  (await f.t.app.audit.page(0, 10_000)).filter((e) => e.code === code).map((e) => e.data as Record<string, unknown>);
const stateOf = async (account: string): Promise<string | undefined> =>
  (await f.t.app.store.ephemeral.list({})).find((r) => r.account === account)?.state;

describe('the ephemeral reconciler', () => {
  it('drops the account when its grant expires, reassigning what it owns as the target says', async () => {
    f = await ephemeralFixture();
    const g = await f.grant({ ms: 60_000 });
    const c = await f.t.app.ephemeral.credentials.issue(g, f.target);
    f.t.clock.advance(59_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.fake.count('drop')).toBe(0);
    f.t.clock.advance(1_000);
    await eventually(async () => (await stateOf(c.account)) === 'dropped');
    expect(f.fake.calls.filter((x) => x.op === 'drop')).toEqual([{ op: 'drop', account: c.account, reassignTo: 'pc_owner', keepHome: false }]);
    expect(f.fake.accounts.size).toBe(0);
    const row = (await f.t.app.store.ephemeral.list({}))[0]!;
    expect(row.secretSealed).toBeNull();
    expect(row.droppedAt).toBe(f.t.clock.now());
    expect(await auditOf('ephemeral.dropped')).toEqual([{ target: 'db1', grant: g.id, account: c.account, level: 'read', reason: 'grant-expired', attempts: 1 }]);
  });

  it('drops at once when the grant is revoked, and when the user is disabled', async () => {
    f = await ephemeralFixture();
    const g1 = await f.grant();
    const a1 = (await f.t.app.ephemeral.credentials.issue(g1, f.target)).account;
    await f.t.app.grants.revoke(f.t.admin, g1.id, 'done');
    await eventually(async () => (await stateOf(a1)) === 'dropped');
    const g2 = await f.grant();
    const a2 = (await f.t.app.ephemeral.credentials.issue(g2, f.target)).account;
    await f.t.app.users.setDisabled('admin', 'alice', true);
    await eventually(async () => (await stateOf(a2)) === 'dropped');
    expect((await auditOf('ephemeral.dropped')).map((d) => [d.account, d.reason])).toEqual([[a1, 'grant-revoked'], [a2, 'user-disabled']]);
  });

  it('drops a grant\'s account on the schedule when no event told this node (grant revoked in the store)', async () => {
    f = await ephemeralFixture();
    const g = await f.grant();
    const a = (await f.t.app.ephemeral.credentials.issue(g, f.target)).account;
    // Another node revoked it: only the store knows.
    await f.t.app.store.grants.update({ ...g, revokedAt: f.t.clock.now() });
    f.t.clock.advance(15_000);
    await eventually(async () => (await stateOf(a)) === 'dropped');
  });

  it('drops at start the intents a crashed gateway left creating, and accounts whose grant ended while it was down', async () => {
    f = await ephemeralFixture({ start: false });
    const live = await f.grant({ ms: 3_600_000 });
    const ended = await f.grant({ ms: 1_000 });
    const row = (grantId: string, account: string, state: 'creating' | 'active') => ({
      id: `eph_${account}`, targetId: f.target.id, grantId, account, level: 'read', state, secretSealed: null,
      createdAt: f.t.clock.now(), expiresAt: f.t.clock.now() + 3_600_000, dropAttempts: 0, lastError: null, droppedAt: null,
    });
    await f.t.app.store.ephemeral.insert(row(live.id, 'pcx_crashedabcde', 'creating'));
    await f.t.app.store.ephemeral.insert(row(ended.id, 'pcx_expiredabcde', 'active'));
    f.t.clock.advance(2_000);
    await f.t.app.ephemeral.start();
    // Awaited: done before a listener would accept.
    expect(f.fake.calls.filter((c) => c.op === 'drop').map((c) => c.account).sort()).toEqual(['pcx_crashedabcde', 'pcx_expiredabcde']);
    expect((await auditOf('ephemeral.dropped')).map((d) => [d.account, d.reason]).sort()).toEqual([['pcx_crashedabcde', 'stale-intent'], ['pcx_expiredabcde', 'grant-expired']]);
    // The live grant's next session creates a fresh account.
    const c = await f.t.app.ephemeral.credentials.issue(live, f.target);
    expect(c.account).not.toBe('pcx_crashedabcde');
  });

  it('leaves a creating row alone while it may still be in progress, and drops it once older than the bound', async () => {
    f = await ephemeralFixture();
    const g = await f.grant({ ms: 3_600_000 });
    await f.t.app.store.ephemeral.insert({
      id: 'eph_elsewhere', targetId: f.target.id, grantId: g.id, account: 'pcx_elsewhereabc', level: 'read', state: 'creating', secretSealed: null,
      createdAt: f.t.clock.now(), expiresAt: g.expiresAt, dropAttempts: 0, lastError: null, droppedAt: null,
    });
    for (let i = 0; i < 7; i++) { f.t.clock.advance(15_000); await new Promise((r) => setTimeout(r, 30)); }
    expect(f.fake.count('drop')).toBe(0);
    f.t.clock.advance(15_000);
    await eventually(async () => (await f.t.app.store.ephemeral.byId('eph_elsewhere'))?.state === 'dropped');
  });

  it('keeps the account of an extended grant until its new end, and moves its expiry on the target', async () => {
    f = await ephemeralFixture();
    const g = await f.grant({ ms: 60_000 });
    const a = (await f.t.app.ephemeral.credentials.issue(g, f.target)).account;
    await f.t.app.grants.extend(f.t.admin, g.id, 60_000);
    await eventually(async () => (await f.t.app.store.ephemeral.forGrant(g.id))?.expiresAt === g.expiresAt + 60_000);
    expect(f.fake.calls.filter((c) => c.op === 'extend')).toEqual([{ op: 'extend', account: a, validUntil: g.expiresAt + 60_000 }]);
    f.t.clock.advance(61_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(await stateOf(a)).toBe('active');
    f.t.clock.advance(60_000);
    await eventually(async () => (await stateOf(a)) === 'dropped');
  });

  it('retries a target that is down with backoff, alerts once after N failures, and the grant has ended at the gateway anyway', async () => {
    f = await ephemeralFixture();
    const alerts: Array<AccessEvents['ephemeral.drop_failing']> = [];
    f.t.app.events.on('ephemeral.drop_failing', (e) => alerts.push(e));
    const g = await f.grant();
    const a = (await f.t.app.ephemeral.credentials.issue(g, f.target)).account;
    f.fake.down = true;
    await f.t.app.grants.revoke(f.t.admin, g.id, 'done');
    await eventually(async () => (await f.t.app.store.ephemeral.forGrant(g.id))?.dropAttempts === 1);
    // The gateway's side of the grant is over whatever the target says.
    const decision = await f.t.app.decider.authorize(f.alice, 'db1', 'postgres', '127.0.0.1');
    expect(decision.ok ? 'allowed' : decision.error.code).toBe('no-active-grant');
    // Backoff: 15 s, 30 s, 60 s, ... between attempts; passes in between leave it alone.
    const attempts = async (): Promise<number> => (await f.t.app.store.ephemeral.forGrant(g.id))?.dropAttempts ?? -1;
    // Passes run every 15 s, each armed when the last one finished: step through them one by one.
    const passes = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        f.t.clock.advance(15_000);
        await new Promise((r) => setTimeout(r, 30));
      }
    };
    for (const [n, expected] of [[1, 2], [1, 2], [1, 3], [4, 4], [8, 5]] as const) {
      await passes(n);
      await eventually(async () => (await attempts()) === expected);
    }
    expect(alerts).toEqual([{ target: 'db1', account: a, grant: g.id, attempts: 3, error: 'connect ECONNREFUSED 127.0.0.1:5432' }]);
    const failed = await auditOf('ephemeral.drop_failed');
    expect(failed.map((d) => d.attempts)).toEqual([1, 2, 3, 4, 5]);
    expect((await f.t.app.ephemeral.list())[0]).toMatchObject({ account: a, state: 'dropping', drop_attempts: 5, last_error: 'connect ECONNREFUSED 127.0.0.1:5432' });
    f.fake.down = false;
    await passes(20);
    await eventually(async () => (await stateOf(a)) === 'dropped');
    expect(alerts).toHaveLength(1);
  });
});
