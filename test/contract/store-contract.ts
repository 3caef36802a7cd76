// The Store contract: what every Store implementation must do, whatever database is behind it.
// `describeStoreContract(name, open)` registers the suite; each implementation has a *.test.ts
// that calls it with a factory for a fresh, empty store (SQLite today, PostgreSQL later). The
// suite speaks only the Store interface: no SQL, no file paths, no implementation details.
// Transactions, sessions and links have their own files (store-contract-*.ts), registered from here.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../gateway/store/store.js';
import { describeLinkContract } from './store-contract-links.js';
import { describeSsoContract } from './store-contract-sso.js';
import { describeHandoffContract } from './store-contract-handoffs.js';
import { describeSessionContract } from './store-contract-sessions.js';
import { rejectionCode } from './store-contract-errors.js';
import { aGrant, aPolicy, aRequest, aTarget, aUser } from './store-fixtures.js';
import { describeTransactionContract } from './store-contract-tx.js';
import { describeProvisionContract } from './store-contract-provision.js';
import { describeClusterContract } from './store-contract-cluster.js';
import { describeRuleContract } from './store-contract-rules.js';

export interface OpenedStore {
  store: Store;
  /** Closes the store and removes whatever it created. */
  destroy(): Promise<void>;
  /** Opens a second Store on the same database (another node); the caller closes it. */
  openAnother(): Promise<Store>;
}

export type OpenStore = () => Promise<OpenedStore>;

export function describeStoreContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}`, () => {
    let opened: OpenedStore;
    let s: Store;
    beforeEach(async () => {
      opened = await open();
      s = opened.store;
    });
    afterEach(async () => {
      await opened.destroy();
    });

    describe('users', () => {
      it('stores every field and finds a user by name and by id; unknown ones are undefined', async () => {
        const u = aUser({ roles: ['ops', 'dba'], sshKeys: ['ssh-ed25519 AAAA'], totpSealed: 'sealed', totpLastStep: 7, disabled: true, kind: 'service' });
        await s.users.insert(u);
        expect(await s.users.byName(u.name)).toEqual(u);
        expect(await s.users.byId(u.id)).toEqual(u);
        expect(await s.users.byName('nobody')).toBeUndefined();
        expect(await s.users.byId('usr_nope')).toBeUndefined();
      });

      it('lists by name, updates and removes', async () => {
        const b = aUser({ name: 'bob' });
        const a = aUser({ name: 'alice' });
        await s.users.insert(b);
        await s.users.insert(a);
        expect((await s.users.list()).map((u) => u.name)).toEqual(['alice', 'bob']);
        await s.users.update({ ...a, roles: ['admin'], passwordHash: 'h' });
        expect(await s.users.byId(a.id)).toMatchObject({ roles: ['admin'], passwordHash: 'h' });
        await s.users.remove(a.id);
        expect(await s.users.byId(a.id)).toBeUndefined();
        expect(await s.users.list()).toEqual([b]);
      });

      it('accepts a TOTP time step once: of concurrent advances to the same step exactly one succeeds, never backwards', async () => {
        const u = aUser({ totpLastStep: 10 });
        await s.users.insert(u);
        const results = await Promise.all(Array.from({ length: 10 }, () => s.users.advanceTotpStep(u.id, 11)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await s.users.advanceTotpStep(u.id, 9)).toBe(false);
        expect(await s.users.advanceTotpStep(u.id, 11)).toBe(false);
        expect((await s.users.byId(u.id))?.totpLastStep).toBe(11);
        expect(await s.users.advanceTotpStep('usr_nope', 12)).toBe(false);
      });

      it('never takes the TOTP step back on update: a copy read before a login cannot reopen its code', async () => {
        const u = aUser({ totpLastStep: 10 });
        await s.users.insert(u);
        expect(await s.users.advanceTotpStep(u.id, 12)).toBe(true);
        await s.users.update({ ...u, roles: ['dba'] });
        expect(await s.users.byId(u.id)).toMatchObject({ roles: ['dba'], totpLastStep: 12 });
        expect(await s.users.advanceTotpStep(u.id, 12)).toBe(false);
        await s.users.update({ ...u, totpLastStep: 20 });
        expect((await s.users.byId(u.id))?.totpLastStep).toBe(20);
      });

      it('keeps the mysql_native_password opt-in and its verifier', async () => {
        const u = aUser({ mysqlNative: true, nativeVerifier: 'ab'.repeat(20) });
        await s.users.insert(u);
        expect(await s.users.byId(u.id)).toMatchObject({ mysqlNative: true, nativeVerifier: 'ab'.repeat(20) });
        await s.users.update({ ...u, mysqlNative: false, nativeVerifier: null });
        expect(await s.users.byId(u.id)).toMatchObject({ mysqlNative: false, nativeVerifier: null });
      });

      it('refuses a second user with the same name as a conflict', async () => {
        const a = aUser({ name: 'alice' });
        await s.users.insert(a);
        expect(await rejectionCode(s.users.insert(aUser({ name: 'alice' })))).toBe('conflict');
        expect(await rejectionCode(s.users.insert({ ...aUser(), id: a.id }))).toBe('conflict');
        expect(await s.users.list()).toEqual([a]);
        const b = aUser({ name: 'bob' });
        await s.users.insert(b);
        expect(await rejectionCode(s.users.update({ ...b, name: 'alice' }))).toBe('conflict');
        expect(await s.users.byId(b.id)).toEqual(b);
      });
    });

    describe('targets and policies', () => {
      it('stores targets whole, lists by name, updates, removes, and refuses duplicate names', async () => {
        const t = aTarget({ name: 'web02', kind: 'postgres', database: 'orders', tlsMode: 'verify-full', tlsCaPem: 'PEM', tlsFingerprint: 'sha256:' + 'ab'.repeat(32), allowWeakUpstreamAuth: true, tags: ['a', 'b'] });
        const u = aTarget({ name: 'db01' });
        await s.targets.insert(t);
        await s.targets.insert(u);
        expect(await s.targets.byName('web02')).toEqual(t);
        expect(await s.targets.byId(t.id)).toEqual(t);
        expect((await s.targets.list()).map((x) => x.name)).toEqual(['db01', 'web02']);
        await s.targets.update({ ...t, port: 6543 });
        expect((await s.targets.byId(t.id))?.port).toBe(6543);
        expect(await rejectionCode(s.targets.insert(aTarget({ name: 'db01' })))).toBe('conflict');
        await s.targets.remove(u.id);
        expect(await s.targets.byName('db01')).toBeUndefined();
      });

      it('stores a target\'s upstream-auth settings (weak-auth opt-in, pinned RSA key) and updates them', async () => {
        const t = aTarget({ name: 'my01', kind: 'mysql', allowWeakUpstreamAuth: true, rsaKeyFingerprint: `sha256:${'ab'.repeat(32)}` });
        await s.targets.insert(t);
        expect(await s.targets.byName('my01')).toEqual(t);
        await s.targets.update({ ...t, allowWeakUpstreamAuth: false, rsaKeyFingerprint: null });
        expect(await s.targets.byId(t.id)).toMatchObject({ allowWeakUpstreamAuth: false, rsaKeyFingerprint: null });
      });

      it('stores policies whole (auto-approval included), lists by name, replaces in place, removes, and refuses duplicate names', async () => {
        const p = aPolicy({ name: 'ops-web', ticketPattern: '^INC-', autoApprove: null, allowLinks: true });
        const q = aPolicy({ name: 'dba' });
        await s.policies.insert(p);
        await s.policies.insert(q);
        expect(await s.policies.byName('ops-web')).toEqual(p);
        expect(await s.policies.byId(q.id)).toEqual(q);
        expect((await s.policies.list()).map((x) => x.name)).toEqual(['dba', 'ops-web']);
        expect(await rejectionCode(s.policies.insert(aPolicy({ name: 'dba' })))).toBe('conflict');
        const narrowed = { ...p, roles: ['dba'], maxDurationMs: 60_000 };
        await s.policies.update(narrowed);
        expect(await s.policies.byId(p.id)).toEqual(narrowed);
        await s.policies.remove(p.id);
        expect(await s.policies.list()).toEqual([q]);
      });
    });

    describe('requests and approvals', () => {
      it('stores requests whole, filters by status and user (oldest first), and updates', async () => {
        const [u1, u2, t, p] = [aUser(), aUser(), aTarget(), aPolicy()];
        const r1 = aRequest(u1.id, t.id, p.id, { createdAt: 1_000 });
        const r2 = aRequest(u2.id, t.id, p.id, { createdAt: 2_000, status: 'approved', decidedAt: 2_500, decidedBy: u1.id, grantId: 'grt_x', autoApproved: true });
        const r3 = aRequest(u1.id, t.id, p.id, { createdAt: 3_000, ticket: null });
        for (const r of [r3, r1, r2]) await s.requests.insert(r);
        expect(await s.requests.byId(r2.id)).toEqual(r2);
        expect(await s.requests.byId('req_nope')).toBeUndefined();
        expect((await s.requests.list({})).map((r) => r.id)).toEqual([r1.id, r2.id, r3.id]);
        expect((await s.requests.list({ status: 'pending' })).map((r) => r.id)).toEqual([r1.id, r3.id]);
        expect((await s.requests.list({ userId: u2.id })).map((r) => r.id)).toEqual([r2.id]);
        expect((await s.requests.list({ status: 'pending', userId: u2.id }))).toEqual([]);
        await s.requests.update({ ...r1, status: 'denied', denyReason: 'no' });
        expect(await s.requests.byId(r1.id)).toMatchObject({ status: 'denied', denyReason: 'no' });
      });

      it('keeps the ticket system\'s answer with a request (issue 18), and a policy\'s ticket check, access window and zoned auto-approval window', async () => {
        const [u, t] = [aUser(), aTarget()];
        const window = { days: [1, 2, 3, 4, 5], fromMinute: 540, toMinute: 1020, zone: 'Europe/Berlin' };
        const p = aPolicy({
          ticketCheck: 'https://tickets.example/check?team=ops', window,
          autoApprove: { roles: [], onCall: [], days: [0, 6], fromHour: null, toHour: null, window: { days: [0, 6], fromMinute: 1320, toMinute: 360, zone: 'America/New_York' } },
        });
        await s.policies.insert(p);
        expect(await s.policies.byId(p.id)).toEqual(p);
        const checked = aRequest(u.id, t.id, p.id, { ticketCheck: { valid: true, reason: 'open — assigned to ops ✓', url: 'https://tickets.example/check?team=ops', checkedAt: 1_234 } });
        const unchecked = aRequest(u.id, t.id, p.id);
        await s.requests.insert(checked);
        await s.requests.insert(unchecked);
        expect(await s.requests.byId(checked.id)).toEqual(checked);
        expect((await s.requests.byId(unchecked.id))!.ticketCheck).toBeNull();
        await s.requests.update({ ...checked, status: 'approved' });
        expect((await s.requests.byId(checked.id))!.ticketCheck).toEqual(checked.ticketCheck);
        // Stored before these knobs existed: none.
        await s.policies.update({ ...p, ticketCheck: null, window: null });
        expect(await s.policies.byId(p.id)).toMatchObject({ ticketCheck: null, window: null });
      });

      it('finds overdue requests: pending with pendingUntil at or before now, nothing else', async () => {
        const [u, t, p] = [aUser(), aTarget(), aPolicy()];
        const due = aRequest(u.id, t.id, p.id, { pendingUntil: 5_000 });
        const exact = aRequest(u.id, t.id, p.id, { pendingUntil: 6_000 });
        const later = aRequest(u.id, t.id, p.id, { pendingUntil: 6_001 });
        const decided = aRequest(u.id, t.id, p.id, { pendingUntil: 1_000, status: 'approved' });
        for (const r of [due, exact, later, decided]) await s.requests.insert(r);
        expect((await s.requests.overdue(6_000)).map((r) => r.id).sort()).toEqual([due.id, exact.id].sort());
        expect(await s.requests.overdue(999)).toEqual([]);
      });

      it('keeps approvals per subject and kind, oldest first', async () => {
        await s.approvals.insert({ subjectId: 'req_1', approverId: 'usr_b', kind: 'request', at: 2_000 });
        await s.approvals.insert({ subjectId: 'req_1', approverId: 'usr_a', kind: 'request', at: 1_000 });
        await s.approvals.insert({ subjectId: 'req_1', approverId: 'usr_c', kind: 'extend', at: 3_000 });
        await s.approvals.insert({ subjectId: 'req_2', approverId: 'usr_d', kind: 'request', at: 500 });
        expect((await s.approvals.forSubject('req_1', 'request')).map((a) => a.approverId)).toEqual(['usr_a', 'usr_b']);
        expect(await s.approvals.forSubject('req_1', 'extend')).toEqual([{ subjectId: 'req_1', approverId: 'usr_c', kind: 'extend', at: 3_000 }]);
        expect(await s.approvals.forSubject('req_3', 'review')).toEqual([]);
      });
    });

    describe('grants', () => {
      it('finds active grants only inside [startsAt, expiresAt), never revoked ones, latest expiry first', async () => {
        const [u, v, t, w] = [aUser(), aUser(), aTarget(), aTarget()];
        const g1 = aGrant(u.id, t.id, { startsAt: 1_000, expiresAt: 5_000 });
        const g2 = aGrant(u.id, w.id, { startsAt: 1_000, expiresAt: 9_000, approvers: ['usr_a', 'usr_b'], dbVerifier: 'v' });
        const g3 = aGrant(v.id, t.id, { startsAt: 2_000, expiresAt: 4_000 });
        const revoked = aGrant(u.id, t.id, { startsAt: 1_000, expiresAt: 9_000, revokedAt: 1_500, revokedBy: v.id, revokeReason: 'x' });
        for (const g of [g1, g2, g3, revoked]) await s.grants.insert(g);
        const ids = async (now: number, f?: { userId?: string; targetId?: string }): Promise<string[]> => (await s.grants.active(now, f)).map((g) => g.id);
        expect(await ids(999)).toEqual([]);
        expect(await ids(1_000)).toEqual([g2.id, g1.id]);
        expect(await ids(2_000)).toEqual([g2.id, g1.id, g3.id]);
        expect(await ids(4_000)).toEqual([g2.id, g1.id]);
        expect(await ids(4_999, { userId: u.id })).toEqual([g2.id, g1.id]);
        expect(await ids(5_000)).toEqual([g2.id]);
        expect(await ids(2_000, { userId: u.id, targetId: t.id })).toEqual([g1.id]);
        expect(await ids(2_000, { targetId: t.id })).toEqual([g1.id, g3.id]);
        expect(await ids(9_000)).toEqual([]);
        expect((await s.grants.active(2_000, { targetId: w.id }))[0]).toEqual(g2);
      });

      it('lists grants per user oldest first, reads them whole and updates them', async () => {
        const [u, v, t] = [aUser(), aUser(), aTarget()];
        const g1 = aGrant(u.id, t.id, { createdAt: 1_000 });
        const g2 = aGrant(v.id, t.id, { createdAt: 2_000, source: 'breakglass', needsReview: true, policyId: 'pol_x', requestId: 'req_x', ticket: 'T' });
        const g3 = aGrant(u.id, t.id, { createdAt: 3_000 });
        for (const g of [g3, g2, g1]) await s.grants.insert(g);
        expect(await s.grants.byId(g2.id)).toEqual(g2);
        expect(await s.grants.byId('grt_nope')).toBeUndefined();
        expect((await s.grants.list({ userId: u.id })).map((g) => g.id)).toEqual([g1.id, g3.id]);
        expect((await s.grants.list({})).map((g) => g.id)).toEqual([g1.id, g2.id, g3.id]);
        const reviewed = { ...g2, needsReview: false, reviewedBy: u.id, reviewedAt: 2_500, expiresAt: 99_000 };
        await s.grants.update(reviewed);
        expect(await s.grants.byId(g2.id)).toEqual(reviewed);
      });
    });

    describe('API tokens', () => {
      it('finds tokens by hash, removes by hash, by user and when expired, and refuses a duplicate hash', async () => {
        const [u, v] = [aUser(), aUser()];
        const tok = (id: string, userId: string, expiresAt: number | null): Parameters<Store['tokens']['insert']>[0] =>
          ({ id, userId, hash: `hash-${id}`, label: 'cli', expiresAt, createdAt: 1_000 });
        await s.tokens.insert(tok('tok_1', u.id, null));
        await s.tokens.insert(tok('tok_2', u.id, 5_000));
        await s.tokens.insert(tok('tok_3', v.id, 9_000));
        expect(await s.tokens.byHash('hash-tok_1')).toEqual(tok('tok_1', u.id, null));
        expect(await s.tokens.byId('tok_1')).toEqual(tok('tok_1', u.id, null));
        expect(await s.tokens.byId('tok_nope')).toBeUndefined();
        expect(await rejectionCode(s.tokens.insert({ ...tok('tok_4', v.id, null), hash: 'hash-tok_1' }))).toBe('conflict');
        await s.tokens.removeExpired(5_000);
        expect(await s.tokens.byHash('hash-tok_2')).toBeUndefined();
        expect(await s.tokens.byHash('hash-tok_1')).toBeDefined();
        expect(await s.tokens.byHash('hash-tok_3')).toBeDefined();
        await s.tokens.removeByHash('hash-tok_3');
        expect(await s.tokens.byHash('hash-tok_3')).toBeUndefined();
        expect(await s.tokens.byId('tok_3')).toBeUndefined();
        // How many it removed: the password change audits the count of sessions it ended.
        expect(await s.tokens.removeForUser(u.id)).toBe(1);
        expect(await s.tokens.byHash('hash-tok_1')).toBeUndefined();
        expect(await s.tokens.removeForUser(u.id)).toBe(0);
      });
    });

    describeSessionContract(() => s);
    describeRuleContract(() => s);

    describe('search', () => {
      it('finds entries containing every word (as word prefixes), with no query syntax from users', async () => {
        await s.search.add([
          { sessionId: 'ses_1', t: 1.5, kind: 'input', text: 'rm -rf /var/cache/app' },
          { sessionId: 'ses_1', t: 2, kind: 'output', text: 'removed 12 files' },
          { sessionId: 'ses_2', t: 0.1, kind: 'sql', text: 'DROP TABLE orders' },
        ]);
        expect(await s.search.query('cache', 10)).toEqual([{ sessionId: 'ses_1', t: 1.5, kind: 'input', text: 'rm -rf /var/cache/app' }]);
        expect((await s.search.query('drop ord', 10)).map((e) => e.sessionId)).toEqual(['ses_2']);
        expect(await s.search.query('drop cache', 10)).toEqual([]);
        expect(await s.search.query('   ', 10)).toEqual([]);
        expect(await s.search.query('"orders" OR NOT (', 10)).toEqual([]);
        expect(await s.search.query('files"', 10)).toHaveLength(1);
        await s.search.add(Array.from({ length: 30 }, (_, i) => ({ sessionId: 'ses_3', t: i, kind: 'output' as const, text: `line ${i} needle` })));
        expect(await s.search.query('needle', 5)).toHaveLength(5);
      });
    });

    describeLinkContract(() => s);
    describeSsoContract(() => s);
    describeHandoffContract(() => s);

    describe('sealed values', () => {
      it('lists every target credential and every enrolled TOTP secret, and replaces one at a time', async () => {
        const t = aTarget({ credentialSealed: 'T1' });
        const withTotp = aUser({ totpSealed: 'U1' });
        await s.targets.insert(t);
        await s.users.insert(withTotp);
        await s.users.insert(aUser());
        const values = await s.sealedValues();
        expect(values).toHaveLength(2);
        expect(values).toEqual(expect.arrayContaining([
          { table: 'targets', id: t.id, sealed: 'T1' }, { table: 'users', id: withTotp.id, sealed: 'U1' },
        ]));
        await s.replaceSealed({ table: 'targets', id: t.id, sealed: 'T2' });
        await s.replaceSealed({ table: 'users', id: withTotp.id, sealed: 'U2' });
        expect((await s.targets.byId(t.id))?.credentialSealed).toBe('T2');
        expect((await s.users.byId(withTotp.id))?.totpSealed).toBe('U2');
      });

      it('keeps recording keys (newest first), lists them with the sealed values, and re-wraps one in place', async () => {
        await s.recordingKeys.insert({ id: 'rk_old', sealed: 'K1', createdAt: 1_000 });
        await s.recordingKeys.insert({ id: 'rk_new', sealed: 'K2', createdAt: 2_000 });
        expect((await s.recordingKeys.list()).map((k) => k.id)).toEqual(['rk_new', 'rk_old']);
        await expect(s.recordingKeys.insert({ id: 'rk_old', sealed: 'K3', createdAt: 3_000 })).rejects.toMatchObject({ code: 'conflict' });
        expect(await s.sealedValues()).toEqual(expect.arrayContaining([{ table: 'recording_keys', id: 'rk_old', sealed: 'K1' }]));
        await s.replaceSealed({ table: 'recording_keys', id: 'rk_old', sealed: 'K1b' });
        expect(await s.recordingKeys.list()).toEqual([{ id: 'rk_new', sealed: 'K2', createdAt: 2_000 }, { id: 'rk_old', sealed: 'K1b', createdAt: 1_000 }]);
      });
    });

    describeTransactionContract(() => s);
    describeProvisionContract(() => s);
    describeClusterContract(() => s, () => opened.openAnother());
  });
}
