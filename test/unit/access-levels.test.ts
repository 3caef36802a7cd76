// Issue 15 item 1: access levels. How a target declares them (and what is refused), the connection
// syntax USER+TARGET+LEVEL, policies that cover some levels only ("read auto-approved for ops,
// write needs two approvers"), the decider's choice of grant, and narrowing by level.
import { afterEach, describe, expect, it } from 'vitest';
import { parseLevelSpec } from '../../gateway/access/levels.js';
import type { NewPolicy } from '../../gateway/access/policies.js';
import { policyCovers, policyNarrowing } from '../../gateway/access/policy-match.js';
import type { NewTarget } from '../../gateway/access/targets.js';
import { parsePrincipal } from '../../gateway/session/principal.js';
import type { GrantRecord, PolicyRecord, TargetRecord, UserRecord } from '../../gateway/store/records.js';
import { testApp, type TestApp } from '../support/test-app.js';

const policy = (over: Partial<NewPolicy> = {}): NewPolicy => ({
  name: 'ops-db', roles: ['ops'], targets: ['db'], targetTags: [], maxDurationMs: 2 * 3_600_000, requireReason: true,
  ticketPattern: null, approvalsRequired: 1, approverRoles: ['approver'], autoApprove: null, breakglass: false,
  recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [], ...over,
});

const pgTarget = (over: Partial<NewTarget> = {}): NewTarget => ({
  name: 'db', kind: 'postgres', host: '127.0.0.1', port: 5432, account: 'provisioner', password: 'prov-secret-1', tls: 'disable',
  credentialMode: 'ephemeral', levels: [{ name: 'read', grants: ['pc_read'] }, { name: 'write', grants: ['pc_read', 'pc_write'] }], ...over,
});

const errorOf = async (fn: () => Promise<unknown>): Promise<{ code: string; message: string }> => {
  try { await fn(); } catch (e) { return e as { code: string; message: string }; }
  return { code: 'no error', message: '' };
};

describe('parsing', () => {
  it('parses a level NAME=SPEC, keeping the order, with an empty SPEC meaning no grants', () => {
    expect(parseLevelSpec('write=pc_read,pc_write')).toEqual({ name: 'write', grants: ['pc_read', 'pc_write'] });
    expect(parseLevelSpec('user=')).toEqual({ name: 'user', grants: [] });
    expect(() => parseLevelSpec('admin')).toThrow(/NAME=SPEC/);
  });

  it('reads USER, USER+TARGET and USER+TARGET+LEVEL', () => {
    expect(parsePrincipal('alice')).toEqual({ user: 'alice', target: null, level: null });
    expect(parsePrincipal('alice+db')).toEqual({ user: 'alice', target: 'db', level: null });
    expect(parsePrincipal('alice+db+write')).toEqual({ user: 'alice', target: 'db', level: 'write' });
  });

  it('refuses a fourth part, empty parts and over-long names', () => {
    for (const bad of ['a+b+c+d', 'alice+', '+db', 'alice++write', 'alice+db+', '', 'a'.repeat(201), '+', '++']) {
      expect(parsePrincipal(bad), bad).toBeNull();
    }
  });
});

describe('target levels', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('gives a target without --level one level "default" with no grants', async () => {
    t = await testApp();
    const rec = await t.app.targets.add('admin', { name: 'db', kind: 'postgres', host: '127.0.0.1', account: 'app', password: 'p-secret-1', tls: 'disable' });
    expect(rec).toMatchObject({ credentialMode: 'static', levels: [{ name: 'default', grants: [] }], rotate: 'off', ephemeralReassignTo: null, ephemeralKeepHome: false });
  });

  it('refuses levels that are malformed, repeated, too many, or unsafe as role or group names', async () => {
    t = await testApp();
    const cases: Array<[Partial<NewTarget>, RegExp]> = [
      [{ levels: [{ name: 'x"; DROP ROLE postgres; --', grants: [] }] }, /invalid level name/],
      [{ levels: [{ name: 'read', grants: [] }, { name: 'read', grants: [] }] }, /given twice/],
      [{ levels: [{ name: 'read', grants: ['x"; DROP ROLE postgres; --'] }] }, /not a valid role name/],
      [{ levels: [{ name: 'read', grants: ["pc'read"] }] }, /not a valid role name/],
      [{ levels: [{ name: 'read', grants: ['a', 'a'] }] }, /twice/],
      [{ levels: Array.from({ length: 33 }, (_, i) => ({ name: `l${i}`, grants: [] })) }, /at most 32 levels/],
      [{ levels: [{ name: 'read', grants: Array.from({ length: 33 }, (_, i) => `r${i}`) }] }, /more than 32 roles/],
      [{ credentialMode: 'static' }, /only an ephemeral account can get.*--credential ephemeral/],
      [{ rotate: 'daily' }, /--rotate is for static credentials/],
      [{ credentialMode: 'static', levels: undefined, rotate: 'weekly' as never }, /--rotate must be one of/],
      [{ credentialMode: 'sometimes' as never }, /--credential must be one of/],
      [{ ephemeralKeepHome: true }, /--keep-home is for ssh targets/],
      [{ ephemeralReassignTo: "owner'; DROP" }, /not a valid role name/],
      [{ credentialMode: 'static', levels: undefined, ephemeralReassignTo: 'owner' }, /--ephemeral-reassign-to is for postgres targets with --credential ephemeral/],
    ];
    for (const [over, re] of cases) expect((await errorOf(() => t.app.targets.add('admin', pgTarget(over)))).message, re.source).toMatch(re);
    // SSH levels are Unix groups: lower case, at most 32 characters.
    const ssh: NewTarget = { name: 'web', kind: 'ssh', host: '127.0.0.1', account: 'prov', password: 'p-secret-1', hostKey: 'SHA256:' + 'A'.repeat(43), credentialMode: 'ephemeral' };
    expect((await errorOf(() => t.app.targets.add('admin', { ...ssh, levels: [{ name: 'admin', grants: ['Sudo'] }] }))).message).toMatch(/not a Linux group name/);
    expect((await errorOf(() => t.app.targets.add('admin', { ...ssh, levels: [{ name: 'admin', grants: ['g'.repeat(33)] }] }))).message).toMatch(/not a Linux group name/);
    const web = await t.app.targets.add('admin', { ...ssh, levels: [{ name: 'user', grants: [] }, { name: 'admin', grants: ['sudo'] }], ephemeralKeepHome: true });
    expect(web.levels.map((l) => l.name)).toEqual(['user', 'admin']);
    // A static target may name levels that grant nothing (policies can still tell them apart).
    expect((await t.app.targets.add('admin', pgTarget({ name: 'db2', credentialMode: 'static', levels: [{ name: 'only', grants: [] }], rotate: 'after-session' }))).rotate).toBe('after-session');
    const db = await t.app.targets.add('admin', pgTarget({ ephemeralReassignTo: 'pc_owner' }));
    expect(db.ephemeralReassignTo).toBe('pc_owner');
  });

  it('needs the credential again to change the levels or the mode, and revokes grants at a level that went away', async () => {
    t = await testApp();
    await t.app.targets.add('admin', pgTarget());
    const ops = await t.user('ops', ['ops']);
    const write = await t.app.grants.adminGrant(t.admin, 'ops', 'db', 3_600_000, 'migration', null, 'write');
    const read = await t.app.grants.adminGrant(t.admin, 'ops', 'db', 3_600_000, 'look', null);
    expect(read.level).toBe('read');
    const e = await errorOf(() => t.app.targets.update('admin', 'db', { levels: [{ name: 'read', grants: ['pc_read'] }] }));
    expect(e.message).toMatch(/changing --level of db changes what its credential may do.*--password-stdin/);
    expect((await errorOf(() => t.app.targets.update('admin', 'db', { credentialMode: 'static', levels: [{ name: 'read', grants: [] }] }))).message).toMatch(/--credential, --level/);
    // Rotation and keep-home are not bound: no credential needed (and static-only rotation is still checked).
    expect((await errorOf(() => t.app.targets.update('admin', 'db', { rotate: 'daily' }))).message).toMatch(/--rotate is for static/);
    const r = await t.app.targets.update('admin', 'db', { levels: [{ name: 'read', grants: ['pc_read'] }], password: 'prov-secret-1' });
    expect(r).toMatchObject({ repointed: true, grantsRevoked: 1, changed: ['levels'] });
    expect((await t.app.store.grants.byId(write.id))!.revokedAt).not.toBeNull();
    expect((await t.app.store.grants.byId(read.id))!.revokedAt).toBeNull();
    const d = await t.app.decider.authorize(ops, 'db', 'postgres', '127.0.0.1', 'write');
    expect(d.ok).toBe(false);
  });
});

describe('policies and levels', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('read auto-approved for ops, write needs two approvers: two policies on the same target', async () => {
    t = await testApp();
    await t.app.targets.add('admin', pgTarget());
    await t.app.policies.add('admin', policy({ name: 'db-read', levels: ['read'], approvalsRequired: 0, approverRoles: [] }));
    await t.app.policies.add('admin', policy({ name: 'db-write', levels: ['write'], approvalsRequired: 2 }));
    const ops = await t.user('ops', ['ops']);
    const alice = await t.user('alice', ['approver']);
    const bob = await t.user('bob', ['approver']);

    const read = await t.app.requests.create(ops, { target: 'db', durationMs: 30 * 60_000, reason: 'look', level: 'read' });
    expect(read).toMatchObject({ status: 'approved', autoApproved: true, level: 'read' });
    expect((await t.app.store.grants.byId(read.grantId!))!.level).toBe('read');
    // No --level: the first (least privileged) level.
    expect((await t.app.requests.create(ops, { target: 'db', durationMs: 60_000, reason: 'again' })).level).toBe('read');

    const write = await t.app.requests.create(ops, { target: 'db', durationMs: 30 * 60_000, reason: 'fix', level: 'write' });
    expect(write).toMatchObject({ status: 'pending', level: 'write' });
    expect((await t.app.store.policies.byId(write.policyId))!.name).toBe('db-write');
    expect((await t.app.requests.approve(alice, write.id)).status).toBe('pending');
    const done = await t.app.requests.approve(bob, write.id);
    expect(done.status).toBe('approved');
    expect((await t.app.store.grants.byId(done.grantId!))!.level).toBe('write');
    const created = (await t.app.audit.page(0, 1000)).filter((x) => x.code === 'grant.created').map((x) => (x.data as { level: string }).level);
    expect(created).toEqual(['read', 'read', 'write']);
  });

  it('refuses an unknown level listing the target\'s, and a level no policy covers naming the ones that are', async () => {
    t = await testApp();
    await t.app.targets.add('admin', pgTarget());
    await t.app.policies.add('admin', policy({ name: 'db-read', levels: ['read'], approvalsRequired: 0, approverRoles: [] }));
    const ops = await t.user('ops', ['ops']);
    expect(await errorOf(() => t.app.requests.create(ops, { target: 'db', durationMs: 60_000, reason: 'r', level: 'nope' })))
      .toMatchObject({ code: 'bad-request', message: 'db has no level "nope"; its levels are: read, write' });
    const e = await errorOf(() => t.app.requests.create(ops, { target: 'db', durationMs: 60_000, reason: 'r', level: 'write' }));
    expect(e.code).toBe('no-policy');
    expect(e.message).toMatch(/level write of db; levels you may request: read/);
    expect((await errorOf(() => t.app.grants.adminGrant(t.admin, 'ops', 'db', 60_000, 'r', null, 'nope'))).message).toMatch(/its levels are: read, write/);
    const refused = (await t.app.audit.page(0, 1000)).filter((x) => x.code === 'request.refused').map((x) => (x.data as { level?: string }).level);
    expect(refused).toEqual(['nope', 'write']);
  });

  it('matches by level purely: no levels means every level; a policy for levels a target lacks covers nothing there', () => {
    const user = { roles: ['ops'] } as UserRecord;
    const target = { name: 'db', tags: [], levels: [{ name: 'read', grants: [] }, { name: 'write', grants: [] }] } as unknown as TargetRecord;
    const p = (levels: string[]): PolicyRecord => ({ ...policy({ levels }), ticketCheck: null, window: null, id: 'pol_1', createdAt: 0 });
    expect(policyCovers(p([]), user, target, 'write')).toBe(true);
    expect(policyCovers(p(['read']), user, target, 'read')).toBe(true);
    expect(policyCovers(p(['read']), user, target, 'write')).toBe(false);
    expect(policyCovers(p(['read']), user, target)).toBe(true);
    expect(policyCovers(p(['admin']), user, target)).toBe(false);
    const grant = { source: 'request', level: 'write', expiresAt: 1000 } as GrantRecord;
    expect(policyNarrowing(p(['read']), grant, user, target, 0)).toEqual({ kind: 'uncovered', why: 'policy ops-db no longer covers level write of db' });
    expect(policyNarrowing(p(['read', 'write']), grant, user, target, 0)).toBeNull();
  });

  it('revokes a live grant whose level a replaced policy no longer covers (policy-narrowed)', async () => {
    t = await testApp();
    await t.app.targets.add('admin', pgTarget());
    await t.app.policies.add('admin', policy({ name: 'db-any', approvalsRequired: 0, approverRoles: [] }));
    const ops = await t.user('ops', ['ops']);
    const w = await t.app.requests.create(ops, { target: 'db', durationMs: 60_000, reason: 'r', level: 'write' });
    const r = await t.app.requests.create(ops, { target: 'db', durationMs: 60_000, reason: 'r', level: 'read' });
    const out = await t.app.policies.replace('admin', 'db-any', policy({ name: 'db-any', approvalsRequired: 0, approverRoles: [], levels: ['read'] }));
    expect(out.revoked).toBe(1);
    expect((await t.app.store.grants.byId(w.grantId!))!.revokeReason).toBe('policy db-any no longer covers level write of db');
    expect((await t.app.store.grants.byId(r.grantId!))!.revokedAt).toBeNull();
  });

  it('gives break-glass and links a level, within the policies that cover it', async () => {
    t = await testApp();
    await t.app.targets.add('admin', pgTarget());
    await t.app.targets.add('admin', { name: 'web', kind: 'ssh', host: '127.0.0.1', account: 'prov', password: 'p-secret-1', hostKey: 'SHA256:' + 'A'.repeat(43),
      credentialMode: 'ephemeral', levels: [{ name: 'user', grants: [] }, { name: 'admin', grants: ['sudo'] }] });
    await t.app.policies.add('admin', policy({ name: 'bg', targets: ['db', 'web'], levels: ['read', 'user'], breakglass: true, allowLinks: true }));
    const ops = await t.user('ops', ['ops']);
    expect((await t.app.breakglass.use(ops, 'db', 'outage')).level).toBe('read');
    expect((await errorOf(() => t.app.breakglass.use(ops, 'db', 'outage', undefined, 'write'))).code).toBe('no-policy');
    const { link } = await t.app.links.create(ops, { target: 'web', ttlMs: 60_000, label: 'vendor' });
    expect(link.level).toBe('user');
    expect((await errorOf(() => t.app.links.create(ops, { target: 'web', ttlMs: 60_000, label: 'vendor', level: 'admin' }))).code).toBe('no-policy');
    expect((await t.app.links.create(t.admin, { target: 'web', ttlMs: 60_000, label: 'vendor', level: 'admin' })).link.level).toBe('admin');
  });
});

describe('the decider and levels', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('uses the least privileged grant without a level, the named one with, and refuses a level without a grant saying how to ask', async () => {
    t = await testApp();
    await t.app.targets.add('admin', pgTarget({ levels: [{ name: 'read', grants: ['pc_read'] }, { name: 'write', grants: ['pc_write'] }, { name: 'owner', grants: ['pc_owner'] }] }));
    const ops = await t.user('ops', ['ops']);
    // Granted most privileged first: the choice is by the target's order, not the grants'.
    const write = await t.app.grants.adminGrant(t.admin, 'ops', 'db', 3_600_000, 'fix', null, 'write');
    const read = await t.app.grants.adminGrant(t.admin, 'ops', 'db', 3_600_000, 'look', null, 'read');
    const plain = await t.app.decider.authorize(ops, 'db', 'postgres', '127.0.0.1');
    expect(plain.ok && plain.auth.grant.id).toBe(read.id);
    const named = await t.app.decider.authorize(ops, 'db', 'postgres', '127.0.0.1', 'write');
    expect(named.ok && named.auth.grant).toMatchObject({ id: write.id, level: 'write' });

    const none = await t.app.decider.authorize(ops, 'db', 'postgres', '127.0.0.1', 'owner');
    expect(none.ok).toBe(false);
    expect(!none.ok && none.error.message).toBe('no active grant for ops on db at level owner (you hold: read, write); ' +
      'request one with: portcullis request db --level owner --for 30m --reason "..."');
    const unknown = await t.app.decider.authorize(ops, 'db', 'postgres', '127.0.0.1', 'nope');
    expect(!unknown.ok && unknown.error.message).toBe('db has no level "nope"; its levels are: read, write, owner');
    const denied = (await t.app.audit.page(0, 1000)).filter((x) => x.code === 'access.denied').map((x) => x.data as { level?: string; code: string });
    expect(denied).toEqual([expect.objectContaining({ level: 'owner', code: 'no-active-grant' }), expect.objectContaining({ level: 'nope', code: 'not-found' })]);

    await t.app.grants.revoke(t.admin, read.id, 'done');
    const after = await t.app.decider.authorize(ops, 'db', 'postgres', '127.0.0.1');
    expect(after.ok && after.auth.grant.id).toBe(write.id);
  });
});
