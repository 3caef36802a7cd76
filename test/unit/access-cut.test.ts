// Taking access away at its root (issue 13 item 7), through the real services, store, audit log
// and live registry on a fake clock: each change revokes exactly the grants that stood on it
// (audited with its cause), ends their live sessions with its own reason, and leaves the rest alone.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewPolicy } from '../../gateway/access/policies.js';
import { policyNarrowing } from '../../gateway/access/policy-match.js';
import { accessLoss } from '../../gateway/access/revocation.js';
import type { LiveSessionHandle } from '../../gateway/session/live-sessions.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import type { GrantRecord, UserRecord } from '../../gateway/store/records.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';

const MIN = 60_000;
const policy = (over: Partial<NewPolicy> = {}): NewPolicy => ({
  name: 'ops-web', roles: ['ops'], targets: ['web01', 'web02'], targetTags: [], maxDurationMs: 2 * 60 * MIN, requireReason: true,
  ticketPattern: null, approvalsRequired: 0, approverRoles: [], autoApprove: { roles: [], days: [], fromHour: null, toHour: null, onCall: [] },
  breakglass: false, recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [], ...over,
});

let t: TestApp;
let ops: UserRecord;
let dev: UserRecord;

/** A live session on a grant, as an adapter would register it; records the reasons it was closed with. */
function live(g: GrantRecord, user: string): TerminationReason[] {
  const closed: TerminationReason[] = [];
  const h: LiveSessionHandle = {
    id: `s-${g.id}`, protocol: 'ssh', user, target: 'web01', grantId: g.id, clientAddr: '127.0.0.1',
    startedAt: t.clock.now(), expiresAt: g.expiresAt, warn: () => {}, close: (r) => closed.push(r),
  };
  t.app.live.register(h);
  return closed;
}

async function requestGrant(user: UserRecord, target: string, minutes = 60): Promise<GrantRecord> {
  const r = await t.app.requests.create(user, { target, durationMs: minutes * MIN, reason: 'work' });
  return (await t.app.store.grants.byId(r.grantId!))!;
}

async function revokedAudit(): Promise<Array<{ grant: string; cause?: string }>> {
  return (await t.app.audit.page(0, 10_000)).filter((e) => e.code === 'grant.revoked').map((e) => e.data as { grant: string; cause?: string });
}

const isRevoked = async (g: GrantRecord): Promise<boolean> => (await t.app.store.grants.byId(g.id))!.revokedAt !== null;

beforeEach(async () => {
  t = await testApp();
  await addSshTarget(t.app, 'web01');
  await addSshTarget(t.app, 'web02');
  ops = await t.user('ops', ['ops']);
  dev = await t.user('dev', ['ops']);
  await t.app.policies.add('admin', policy());
});

afterEach(() => t.close());

describe('taking access away', () => {
  it('disabling a user revokes all their grants (audited user-disabled) and ends their sessions with user-disabled; others keep theirs', async () => {
    const a = await requestGrant(ops, 'web01');
    const b = await t.app.grants.adminGrant(t.admin, 'ops', 'web02', 60 * MIN, 'admin grant', null);
    const other = await requestGrant(dev, 'web01');
    const [sa, sb, so] = [live(a, 'ops'), live(b, 'ops'), live(other, 'dev')];
    await t.app.users.setDisabled('admin', 'ops', true);
    expect(sa).toEqual(['user-disabled']);
    expect(sb).toEqual(['user-disabled']);
    expect(so).toEqual([]);
    expect([await isRevoked(a), await isRevoked(b), await isRevoked(other)]).toEqual([true, true, false]);
    expect(await revokedAudit()).toEqual(expect.arrayContaining([
      { grant: a.id, by: 'admin', reason: 'user ops disabled', cause: 'user-disabled' },
      { grant: b.id, by: 'admin', reason: 'user ops disabled', cause: 'user-disabled' },
    ]));
    // Enabling again gives nothing back.
    await t.app.users.setDisabled('admin', 'ops', false);
    expect(await t.app.grants.list({ userId: ops.id, active: true })).toEqual([]);
  });

  it('removing a user, a target or a policy revokes what stood on it, each session ending with its own reason', async () => {
    const onWeb02 = await requestGrant(dev, 'web02');
    const devAdmin = await t.app.grants.adminGrant(t.admin, 'dev', 'web01', 60 * MIN, 'admin grant', null);
    const opsGrant = await requestGrant(ops, 'web01');
    const [s1, s2, s3] = [live(onWeb02, 'dev'), live(devAdmin, 'dev'), live(opsGrant, 'ops')];

    await t.app.targets.remove('admin', 'web02');
    expect(s1).toEqual(['target-removed']);
    expect([s2, s3]).toEqual([[], []]);

    await t.app.policies.remove('admin', 'ops-web');
    expect(s3).toEqual(['policy-removed']);
    // An admin's direct grant stands on no policy.
    expect(s2).toEqual([]);

    await t.app.users.remove('admin', 'dev');
    expect(s2).toEqual(['user-removed']);
    expect((await revokedAudit()).map((e) => e.cause)).toEqual(['target-removed', 'policy-removed', 'user-removed']);
  });

  it('a replaced policy that no longer covers a grant revokes it (policy-narrowed); one with a shorter max cuts what is left and re-arms the session', async () => {
    const onWeb01 = await requestGrant(ops, 'web01', 90);
    const onWeb02 = await requestGrant(dev, 'web02', 90);
    const s1 = live(onWeb01, 'ops');
    const s2 = live(onWeb02, 'dev');
    const r = await t.app.policies.replace('admin', 'ops-web', policy({ targets: ['web02'], maxDurationMs: 30 * MIN }));
    expect(r).toMatchObject({ revoked: 1, shortened: 1 });
    expect(s1).toEqual(['policy-narrowed']);
    expect(s2).toEqual([]);
    const short = (await t.app.store.grants.byId(onWeb02.id))!;
    expect(short.revokedAt).toBeNull();
    expect(short.expiresAt).toBe(t.clock.now() + 30 * MIN);
    const codes = (await t.app.audit.page(0, 10_000)).map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(['grant.shortened', 'policy.updated']));
    t.clock.advance(30 * MIN);
    expect(s2).toEqual(['grant-expired']);
    // Widening again revokes nothing and gives nothing back.
    expect(await t.app.policies.replace('admin', 'ops-web', policy())).toMatchObject({ revoked: 0, shortened: 0 });
  });

  it('new roles that a policy no longer covers revoke the grants standing on it', async () => {
    const g = await requestGrant(ops, 'web01');
    const admin = await t.app.grants.adminGrant(t.admin, 'ops', 'web02', 60 * MIN, 'admin grant', null);
    const s = live(g, 'ops');
    await t.app.users.setRoles('admin', 'ops', ['dba']);
    expect(s).toEqual(['policy-narrowed']);
    expect(await isRevoked(admin)).toBe(false);
  });

  it('a request pending while its user was disabled, or its policy narrowed, yields no grant when approved', async () => {
    await addSshTarget(t.app, 'web03');
    await t.app.policies.add('admin', policy({ name: 'needs-approval', targets: ['web03'], approvalsRequired: 1, approverRoles: ['approver'], autoApprove: null }));
    const approver = await t.user('alice', ['approver']);
    const r1 = await t.app.requests.create(ops, { target: 'web03', durationMs: 30 * MIN, reason: 'work' });
    const r2 = await t.app.requests.create(dev, { target: 'web03', durationMs: 30 * MIN, reason: 'work' });
    await t.app.users.setDisabled('admin', 'ops', true);
    await expect(t.app.requests.approve(approver, r1.id)).rejects.toMatchObject({ code: 'conflict', message: /ops is disabled or removed/ });
    await t.app.users.setRoles('admin', 'dev', ['dba']);
    await expect(t.app.requests.approve(approver, r2.id)).rejects.toMatchObject({ code: 'conflict', message: /no longer covers it/ });
    await t.app.users.setDisabled('admin', 'ops', false);
    expect(await t.app.grants.list({ active: true })).toEqual([]);
  });

  it('disabling a user revokes the links they issued, and a session open through one ends as a revoked link\'s', async () => {
    const { link, token } = await t.app.links.create(t.admin, { target: 'web01', ttlMs: 60 * MIN, label: 'vendor' });
    const opened = await t.app.links.open(token, '192.0.2.9');
    const s = live(opened.auth.grant, `link:${link.id}`);
    const other = await t.app.links.create(t.admin, { target: 'web01', ttlMs: 60 * MIN, label: 'unused' });
    await t.app.users.setDisabled('test', 'admin', true);
    expect(s).toEqual(['grant-revoked']);
    for (const id of [link.id, other.link.id]) expect((await t.app.store.links.byId(id))!.revokedAt).not.toBeNull();
    await expect(t.app.links.open(other.token, '192.0.2.9')).rejects.toMatchObject({ code: 'link-revoked' });
  });

  it('says the most specific reason access is gone, straight from the store', async () => {
    const g = await requestGrant(ops, 'web01');
    const target = (await t.app.store.targets.byName('web01'))!;
    const at = (): Promise<string | null> => accessLoss(t.app.store, t.clock.now(), { user: ops, target, grant: g, link: false });
    expect(await at()).toBeNull();
    await t.app.store.targets.update({ ...target, port: 2200 });
    expect(await at()).toBe('target-changed');
    await t.app.store.targets.update(target);
    // A rename keeps the machine, but a policy that matched the old name no longer covers it.
    await t.app.store.targets.update({ ...target, name: 'web09' });
    expect(await at()).toBe('policy-narrowed');
    await t.app.store.targets.update(target);
    await t.app.store.users.update({ ...ops, disabled: true });
    expect(await at()).toBe('user-disabled');
    await t.app.store.users.update(ops);
    t.clock.advance(61 * MIN);
    expect(await at()).toBe('grant-expired');
  });

  it('narrowing is judged per grant source: break-glass and links by their switch, admin grants never', () => {
    const target = { id: 't', name: 'web01', tags: [] } as never;
    const grant = (source: GrantRecord['source']): GrantRecord => ({ source, expiresAt: 100 * MIN } as GrantRecord);
    const p = { ...policy(), ticketCheck: null, window: null, id: 'p', createdAt: 0 };
    expect(policyNarrowing(p, grant('request'), ops, target, 0)).toBeNull();
    expect(policyNarrowing({ ...p, roles: ['dba'] }, grant('request'), ops, target, 0)).toMatchObject({ kind: 'uncovered' });
    expect(policyNarrowing({ ...p, breakglass: false }, grant('breakglass'), ops, target, 0)).toMatchObject({ kind: 'uncovered' });
    expect(policyNarrowing({ ...p, breakglass: true, maxDurationMs: MIN }, grant('breakglass'), ops, target, 0)).toBeNull();
    expect(policyNarrowing(p, grant('link'), null, target, 0)).toMatchObject({ kind: 'uncovered' });
    expect(policyNarrowing({ ...p, allowLinks: true, maxDurationMs: MIN }, grant('link'), null, target, 0)).toEqual({ kind: 'shorter', expiresAt: MIN });
    expect(policyNarrowing({ ...p, roles: ['dba'] }, grant('admin'), ops, target, 0)).toBeNull();
    expect(policyNarrowing({ ...p, targets: ['db01'] }, grant('admin'), ops, target, 0)).toBeNull();
    expect(policyNarrowing({ ...p, targets: ['db01'] }, grant('link'), null, target, 0)).toMatchObject({ kind: 'uncovered' });
  });
});
