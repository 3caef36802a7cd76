// The async store under racing requests, through the real services on the real SQLite store: a
// few hundred requests created, approved, denied, revoked and extended at once, with live sessions
// whose end writes the store while a revocation is in flight. Nothing deadlocks, no update is lost
// (each race has exactly one winner), a failing transaction leaves the store usable, and the audit
// hash chain verifies afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import type { NewPolicy } from '../../gateway/access/policies.js';
import { storeJournal } from '../../gateway/session/store-ports.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import type { UserRecord } from '../../gateway/store/records.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';

const policy: NewPolicy = {
  name: 'ops-web', roles: ['ops'], targets: ['web01'], targetTags: [], maxDurationMs: 2 * 3_600_000, requireReason: true,
  ticketPattern: null, approvalsRequired: 2, approverRoles: ['approver'], autoApprove: null, breakglass: false,
  recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [],
};

const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => (e as { code?: string }).code ?? String(e));

let t: TestApp;
afterEach(() => t.close());

describe('the async store under concurrent requests', () => {
  it('serializes hundreds of racing requests, approvals, denials, revocations and session ends without deadlock or lost update', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    await t.app.policies.add('admin', policy);
    const approvers = await Promise.all(['alice', 'bob', 'carol'].map((n) => t.app.users.add('test', { name: n, roles: ['approver'], kind: 'service' })));
    const [alice, bob, carol] = approvers as [UserRecord, UserRecord, UserRecord];
    const users = await Promise.all(Array.from({ length: 100 }, (_, i) => t.app.users.add('test', { name: `ops${i}`, roles: ['ops'], kind: 'service' })));

    // 200 requests at once.
    const requests = await Promise.all(users.flatMap((u) => [0, 1].map((k) => t.app.requests.create(u, { target: 'web01', durationMs: 30 * 60_000, reason: `r${k}` }))));
    expect(new Set(requests.map((r) => r.id)).size).toBe(200);

    // Every request: alice twice (one duplicate), bob, and carol denying — all at once. Two approvals
    // grant; a denial before the second approval denies. Exactly one decision per request.
    const races = requests.map(async (r, i) => {
      const ops = [
        (): Promise<string> => outcome(t.app.requests.approve(alice, r.id)), (): Promise<string> => outcome(t.app.requests.approve(alice, r.id)),
        (): Promise<string> => outcome(t.app.requests.approve(bob, r.id)), (): Promise<string> => outcome(t.app.requests.deny(carol, r.id, 'no')),
      ];
      // A different arrival order per request, so both decisions win some races.
      const order = [0, 1, 2, 3].map((k) => (k + i) % 4);
      const started = order.map((k) => [k, ops[k]!()] as const);
      const results: string[] = [];
      for (const [k, p] of started) results[k] = await p;
      return { id: r.id, results };
    });
    const decided = await Promise.all(races);
    for (const d of decided) expect(d.results.slice(0, 2).filter((x) => x === 'ok').length, JSON.stringify(d)).toBeLessThanOrEqual(1);
    const final = await Promise.all(requests.map((r) => t.app.requests.get(r.id)));
    const approved = final.filter((r) => r.status === 'approved');
    const denied = final.filter((r) => r.status === 'denied');
    expect(approved.length + denied.length).toBe(200);
    expect(approved.length).toBeGreaterThan(0);
    expect(denied.length).toBeGreaterThan(0);
    expect(approved.every((r) => r.grantId !== null)).toBe(true);
    const grants = await t.app.grants.list({ active: true });
    // One grant per approved request, never two.
    expect(grants.length).toBe(approved.length);
    expect(new Set(grants.map((g) => g.requestId)).size).toBe(grants.length);

    // A live session per grant whose end writes the store (session row, audit), as the pipeline's does.
    const journal = storeJournal(t.app.store, t.app.audit, t.app.log);
    const ends: Array<Promise<void>> = [];
    const closed = new Map<string, TerminationReason[]>();
    await Promise.all(grants.map(async (g) => {
      const auth = await t.app.decider.authorize((await t.app.store.users.byId(g.userId))!, 'web01', 'ssh', '127.0.0.1');
      if (!auth.ok) throw new Error('no auth');
      const start = { id: `ses-${g.id}`, protocol: 'ssh', auth: auth.auth, clientAddr: '127.0.0.1', startedAt: t.clock.now(), recordingDir: '/nonexistent' };
      await journal.started(start);
      closed.set(start.id, []);
      t.app.live.register({
        id: start.id, protocol: 'ssh', user: 'u', target: 'web01', grantId: g.id, clientAddr: '127.0.0.1', startedAt: start.startedAt, expiresAt: g.expiresAt,
        warn: () => {}, close: (reason) => { closed.get(start.id)!.push(reason); ends.push(journal.ended(start, t.clock.now(), reason)); },
      });
    }));

    // Each grant revoked twice at once and extended at once; a transaction that fails midway runs alongside.
    const failing = Array.from({ length: 20 }, (_, i) => outcome(t.app.store.transaction(async () => {
      await t.app.audit.append('grant.revoked', 'admin', { grant: `failing-${i}`, by: 'admin', reason: 'rolled back' });
      throw new Error('boom');
    })));
    const revokes = await Promise.all(grants.map(async (g) => Promise.all([
      outcome(t.app.grants.revoke(t.admin, g.id, 'incident')), outcome(t.app.grants.revoke(t.admin, g.id, 'incident')),
      outcome(t.app.grants.extend(alice, g.id, 60_000)),
    ])));
    expect(await Promise.all(failing)).toEqual(Array(20).fill('Error: boom'));
    for (const [a, b] of revokes) expect([a, b].sort()).toEqual(['grant-inactive', 'ok']);
    await Promise.all(ends);

    expect([...closed.values()].every((r) => r.length === 1 && r[0] === 'grant-revoked')).toBe(true);
    expect(t.app.live.size).toBe(0);
    expect((await t.app.grants.list({ active: true })).length).toBe(0);
    const sessions = await Promise.all(grants.map((g) => t.app.store.sessions.byId(`ses-${g.id}`)));
    expect(sessions.every((s) => s?.endReason === 'grant-revoked')).toBe(true);

    const audit = await t.app.audit.page(0, 100_000);
    const count = (code: string): number => audit.filter((e) => e.code === code).length;
    expect(count('grant.revoked')).toBe(grants.length);
    expect(count('session.ended')).toBe(grants.length);
    expect(count('grant.created')).toBe(approved.length);
    expect(audit.some((e) => JSON.stringify(e.data).includes('failing-'))).toBe(false);
    expect(await t.app.audit.verify()).toMatchObject({ ok: true, entries: audit.length });
  }, 120_000);
});
