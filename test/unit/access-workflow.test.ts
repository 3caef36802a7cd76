import { afterEach, describe, expect, it } from 'vitest';
import type { NewPolicy } from '../../gateway/access/policies.js';
import type { LiveSessionHandle } from '../../gateway/session/live-sessions.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';

const policy = (over: Partial<NewPolicy> = {}): NewPolicy => ({
  name: 'ops-web', roles: ['ops'], targets: ['web01'], targetTags: [], maxDurationMs: 2 * 3_600_000, requireReason: true,
  ticketPattern: null, approvalsRequired: 1, approverRoles: ['approver'], autoApprove: null, breakglass: false,
  recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [], ...over,
});

function liveSession(t: TestApp, grantId: string, expiresAt: number): { closed: TerminationReason[] } {
  const closed: TerminationReason[] = [];
  const h: LiveSessionHandle = {
    id: `s-${grantId}`, protocol: 'ssh', user: 'ops', target: 'web01', grantId, clientAddr: '127.0.0.1',
    startedAt: t.clock.now(), expiresAt, warn: () => {}, close: (r) => closed.push(r),
  };
  t.app.live.register(h);
  return { closed };
}

const codeOf = async (fn: () => Promise<unknown>): Promise<string> => {
  try { await fn(); } catch (e) { return (e as { code: string }).code; }
  return 'no error';
};

/** Lets the async work that timers started (store writes, audit, events) finish. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the access workflow', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('takes a request through approval to an active grant whose clock starts at approval, then expires it', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    await t.app.policies.add('admin', policy());
    const ops = await t.user('ops', ['ops']);
    const alice = await t.user('alice', ['approver']);
    const req = await t.app.requests.create(ops, { target: 'web01', durationMs: 30 * 60_000, reason: 'disk full', ticket: 'INC-42' });
    expect(req.status).toBe('pending');
    expect(await t.app.decider.authorize(ops, 'web01', 'ssh', '127.0.0.1')).toMatchObject({ ok: false, error: { code: 'no-active-grant' } });

    t.clock.advance(5 * 60_000);
    const approved = await t.app.requests.approve(alice, req.id);
    expect(approved.status).toBe('approved');
    const grant = (await t.app.store.grants.byId(approved.grantId!))!;
    expect(grant.startsAt).toBe(t.clock.now());
    expect(grant.expiresAt).toBe(t.clock.now() + 30 * 60_000);
    const d = await t.app.decider.authorize(ops, 'web01', 'ssh', '127.0.0.1');
    expect(d.ok && d.auth.grant.id).toBe(grant.id);

    t.clock.advance(30 * 60_000);
    await settle();
    expect((await t.app.decider.authorize(ops, 'web01', 'ssh', '127.0.0.1')).ok).toBe(false);
    const codes = (await t.app.audit.page(0, 1000)).map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(['request.created', 'request.approved', 'grant.created', 'grant.expired', 'access.denied']));
  });

  it('refuses self-approval, a second approval by the same person, and non-approvers', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    await t.app.policies.add('admin', policy({ approvalsRequired: 2 }));
    const ops = await t.user('ops', ['ops', 'approver']);
    const alice = await t.user('alice', ['approver']);
    const bob = await t.user('bob', ['approver']);
    const mallory = await t.user('mallory', ['ops']);
    const req = await t.app.requests.create(ops, { target: 'web01', durationMs: 60_000, reason: 'r' });
    expect(await codeOf(() => t.app.requests.approve(ops, req.id))).toBe('self-approval');
    expect(await codeOf(() => t.app.requests.approve(mallory, req.id))).toBe('not-approver');
    expect((await t.app.requests.approve(alice, req.id)).status).toBe('pending');
    expect(await codeOf(() => t.app.requests.approve(alice, req.id))).toBe('duplicate-approval');
    const done = await t.app.requests.approve(bob, req.id);
    expect(done.status).toBe('approved');
    expect((await t.app.store.grants.byId(done.grantId!))!.approvers).toEqual([alice.id, bob.id]);
    const refusals = (await t.app.audit.page(0, 1000)).filter((e) => e.code === 'approval.refused').map((e) => (e.data as { code: string }).code);
    expect(refusals).toEqual(['self-approval', 'not-approver', 'duplicate-approval']);
  });

  it('validates reason, ticket pattern, duration and policy coverage, changing nothing on refusal', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    await addSshTarget(t.app, 'db01');
    await t.app.policies.add('admin', policy({ ticketPattern: '^INC-\\d+$' }));
    const ops = await t.user('ops', ['ops']);
    const dba = await t.user('dba', ['dba']);
    expect(await codeOf(() => t.app.requests.create(ops, { target: 'web01', durationMs: 60_000, reason: '  ', ticket: 'INC-1' }))).toBe('reason-required');
    expect(await codeOf(() => t.app.requests.create(ops, { target: 'web01', durationMs: 60_000, reason: 'r', ticket: 'JIRA-1' }))).toBe('ticket-invalid');
    expect(await codeOf(() => t.app.requests.create(ops, { target: 'web01', durationMs: 3 * 3_600_000, reason: 'r', ticket: 'INC-1' }))).toBe('duration-too-long');
    expect(await codeOf(() => t.app.requests.create(ops, { target: 'db01', durationMs: 60_000, reason: 'r' }))).toBe('no-policy');
    expect(await codeOf(() => t.app.requests.create(dba, { target: 'web01', durationMs: 60_000, reason: 'r', ticket: 'INC-1' }))).toBe('no-policy');
    expect(await codeOf(() => t.app.requests.create(ops, { target: 'nope', durationMs: 60_000, reason: 'r' }))).toBe('not-found');
    expect(await t.app.store.requests.list({})).toEqual([]);
    expect((await t.app.audit.page(0, 1000)).filter((e) => e.code === 'request.refused')).toHaveLength(6);
  });

  it('auto-approves for on-call users inside the window only', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    // The fake clock starts on Monday 2026-11-23 10:00 UTC.
    await t.app.policies.add('admin', policy({ autoApprove: { roles: ['ops'], onCall: ['ops'], days: [1, 2, 3, 4, 5], fromHour: 9, toHour: 17 } }));
    const ops = await t.user('ops', ['ops']);
    const other = await t.user('other', ['ops']);
    const r1 = await t.app.requests.create(ops, { target: 'web01', durationMs: 60_000, reason: 'page' });
    expect(r1).toMatchObject({ status: 'approved', autoApproved: true });
    expect((await t.app.requests.create(other, { target: 'web01', durationMs: 60_000, reason: 'page' })).status).toBe('pending');
    t.clock.advance(8 * 3_600_000);
    expect((await t.app.requests.create(ops, { target: 'web01', durationMs: 60_000, reason: 'late' })).status).toBe('pending');
  });

  it('expires pending requests nobody decided', async () => {
    t = await testApp({ config: (c) => { c.requests.pendingTtl = '1h'; } });
    await addSshTarget(t.app);
    await t.app.policies.add('admin', policy());
    const ops = await t.user('ops', ['ops']);
    const alice = await t.user('alice', ['approver']);
    const req = await t.app.requests.create(ops, { target: 'web01', durationMs: 60_000, reason: 'r' });
    t.clock.advance(3_600_000);
    await settle();
    expect((await t.app.store.requests.byId(req.id))!.status).toBe('expired');
    expect(await codeOf(() => t.app.requests.approve(alice, req.id))).toBe('not-pending');
  });

  it('revocation cuts live sessions of the grant at once', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    const ops = await t.user('ops', ['ops']);
    const g = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 3_600_000, 'maintenance', null);
    const s = liveSession(t, g.id, g.expiresAt);
    await t.app.grants.revoke(t.admin, g.id, 'done early');
    expect(s.closed).toEqual(['grant-revoked']);
    expect((await t.app.decider.authorize(ops, 'web01', 'ssh', 'x')).ok).toBe(false);
  });

  it('extension is a new approval by someone other than the grantee', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    await t.app.policies.add('admin', policy());
    const ops = await t.user('ops', ['ops']);
    const alice = await t.user('alice', ['approver']);
    const g = await t.app.requests.approve(alice, (await t.app.requests.create(ops, { target: 'web01', durationMs: 600_000, reason: 'r' })).id);
    expect(await codeOf(() => t.app.grants.extend(ops, g.grantId!, 600_000))).toBe('self-approval');
    const ext = await t.app.grants.extend(alice, g.grantId!, 600_000);
    expect(ext.expiresAt - ext.startsAt).toBe(1_200_000);
  });

  it('break-glass grants at once, capped, alerted, flagged for review; a denied review cuts access', async () => {
    const bodies: string[] = [];
    t = await testApp({
      config: (c) => { c.webhooks = [{ url: 'http://127.0.0.1:9/hook', events: [] }]; },
      poster: (_url, body) => { bodies.push(body); return Promise.resolve(200); },
    });
    await addSshTarget(t.app);
    await t.app.policies.add('admin', policy({ breakglass: true }));
    const ops = await t.user('ops', ['ops']);
    const alice = await t.user('alice', ['approver']);
    expect(await codeOf(() => t.app.breakglass.use(ops, 'web01', ''))).toBe('reason-required');
    const g = await t.app.breakglass.use(ops, 'web01', 'prod down', 5 * 3_600_000);
    expect(g.expiresAt - g.startsAt).toBe(3_600_000);
    expect(g.needsReview).toBe(true);
    expect((await t.app.audit.page(0, 1000)).some((e) => e.code === 'breakglass.used')).toBe(true);
    await Promise.resolve();
    const alert = bodies.map((b) => JSON.parse(b) as { event: string; text: string }).find((b) => b.event === 'breakglass.used');
    expect(alert?.text).toMatch(/BREAK-GLASS: ops took access to web01/);

    const s = liveSession(t, g.id, g.expiresAt);
    expect(await codeOf(() => t.app.grants.review(ops, g.id, 'accepted', ''))).toBe('self-approval');
    await t.app.grants.review(alice, g.id, 'denied', 'not an emergency');
    expect(s.closed).toEqual(['breakglass-denied']);
    expect(await t.app.store.grants.byId(g.id)).toMatchObject({ needsReview: false, revokeReason: 'break-glass review denied: not an emergency' });
  });

  it('refuses break-glass where no policy allows it', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    await t.app.policies.add('admin', policy());
    const ops = await t.user('ops', ['ops']);
    expect(await codeOf(() => t.app.breakglass.use(ops, 'web01', 'why'))).toBe('no-policy');
  });

  it('refuses a disabled user even with an active grant', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    const ops = await t.user('ops', ['ops']);
    await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 3_600_000, 'r', null);
    await t.app.users.setDisabled('admin', 'ops', true);
    expect(await t.app.decider.authorize(ops, 'web01', 'ssh', 'x')).toMatchObject({ ok: false, error: { code: 'user-disabled' } });
  });
});

describe('the session list', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('pages through 10,000 sessions by start time with filters, each page a bounded query', async () => {
    t = await testApp();
    const target = await addSshTarget(t.app);
    const ops = await t.user('ops', ['ops']);
    await t.app.store.transaction(async () => {
      for (let i = 0; i < 10_000; i++) {
        await t.app.store.sessions.insert({
          id: `ses_${String(i).padStart(5, '0')}`, protocol: i % 3 === 0 ? 'postgres' : 'ssh', userId: ops.id, targetId: target.id, grantId: null, level: null,
          clientAddr: '127.0.0.1', startedAt: 1_000_000 + Math.floor(i / 2), endedAt: 1_000_500 + i, endReason: i % 10 === 0 ? 'grant-expired' : 'closed-by-client', recording: null, node: null,
        });
      }
    });
    const seen = new Set<string>();
    let before: { startedAt: number; id: string } | undefined;
    for (;;) {
      const page = await t.app.store.sessions.list({ limit: 1000, before });
      if (page.length === 0) break;
      for (const s of page) seen.add(s.id);
      const last = page[page.length - 1]!;
      before = { startedAt: last.startedAt, id: last.id };
    }
    expect(seen.size).toBe(10_000);
    expect(await t.app.store.sessions.list({ endReason: 'grant-expired', limit: 1000 })).toHaveLength(1000);
    expect((await t.app.store.sessions.list({ protocol: 'postgres', endReason: 'grant-expired', limit: 1000 })).every((s) => s.protocol === 'postgres' && s.endReason === 'grant-expired')).toBe(true);
    expect(await t.app.store.sessions.list({ since: 1_004_000, limit: 1000 })).toHaveLength(1000);
  });
});
