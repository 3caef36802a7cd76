// The Store contract: what every Store implementation must do, whatever database is behind it.
// `describeStoreContract(name, open)` registers the suite; each implementation has a *.test.ts
// that calls it with a factory for a fresh, empty store (SQLite today, PostgreSQL later). The
// suite speaks only the Store interface: no SQL, no file paths, no implementation details.
// Transaction behaviour and atomicity are here as well as the repositories (see store-contract-tx.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../gateway/store/store.js';
import { isPortcullisError } from '../../gateway/util/errors.js';
import { aGrant, aLink, aPolicy, aRequest, aSession, aTarget, aUser } from './store-fixtures.js';
import { describeTransactionContract } from './store-contract-tx.js';

export interface OpenedStore {
  store: Store;
  /** Closes the store and removes whatever it created. */
  destroy(): Promise<void>;
}

export type OpenStore = () => Promise<OpenedStore>;

/** Resolves to the error's code when `p` rejects with a PortcullisError; fails the test otherwise. */
export async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isPortcullisError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a rejection');
}

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

      it('refuses a second user with the same name as a conflict', async () => {
        const a = aUser({ name: 'alice' });
        await s.users.insert(a);
        expect(await rejectionCode(s.users.insert(aUser({ name: 'alice' })))).toBe('conflict');
        expect(await rejectionCode(s.users.insert({ ...aUser(), id: a.id }))).toBe('conflict');
        expect(await s.users.list()).toEqual([a]);
      });
    });

    describe('targets and policies', () => {
      it('stores targets whole, lists by name, updates, removes, and refuses duplicate names', async () => {
        const t = aTarget({ name: 'web02', kind: 'postgres', database: 'orders', tlsMode: 'verify-full', tlsCaPem: 'PEM', tags: ['a', 'b'] });
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

      it('stores policies whole (auto-approval included), lists by name, removes, and refuses duplicate names', async () => {
        const p = aPolicy({ name: 'ops-web', ticketPattern: '^INC-', autoApprove: null, allowLinks: true });
        const q = aPolicy({ name: 'dba' });
        await s.policies.insert(p);
        await s.policies.insert(q);
        expect(await s.policies.byName('ops-web')).toEqual(p);
        expect(await s.policies.byId(q.id)).toEqual(q);
        expect((await s.policies.list()).map((x) => x.name)).toEqual(['dba', 'ops-web']);
        expect(await rejectionCode(s.policies.insert(aPolicy({ name: 'dba' })))).toBe('conflict');
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
        expect(await rejectionCode(s.tokens.insert({ ...tok('tok_4', v.id, null), hash: 'hash-tok_1' }))).toBe('conflict');
        await s.tokens.removeExpired(5_000);
        expect(await s.tokens.byHash('hash-tok_2')).toBeUndefined();
        expect(await s.tokens.byHash('hash-tok_1')).toBeDefined();
        expect(await s.tokens.byHash('hash-tok_3')).toBeDefined();
        await s.tokens.removeByHash('hash-tok_3');
        expect(await s.tokens.byHash('hash-tok_3')).toBeUndefined();
        await s.tokens.removeForUser(u.id);
        expect(await s.tokens.byHash('hash-tok_1')).toBeUndefined();
      });
    });

    describeSessionContract(() => s);

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
    });

    describeTransactionContract(() => s);
  });
}

function describeSessionContract(store: () => Store): void {
  describe('sessions', () => {
    it('stores sessions whole and records the end once', async () => {
      const s = store();
      const ses = aSession('tgt_1', { userId: 'usr_1', grantId: 'grt_1', recording: '/r/x', protocol: 'postgres' });
      await s.sessions.insert(ses);
      expect(await s.sessions.byId(ses.id)).toEqual(ses);
      expect(await rejectionCode(s.sessions.insert(ses))).toBe('conflict');
      await s.sessions.end(ses.id, 2_000, 'grant-expired');
      await s.sessions.end(ses.id, 3_000, 'closed-by-client');
      expect(await s.sessions.byId(ses.id)).toEqual({ ...ses, endedAt: 2_000, endReason: 'grant-expired' });
      expect(await s.sessions.byId('ses_nope')).toBeUndefined();
    });

    it('filters by live, user, target, protocol, end reason and time, newest first', async () => {
      const s = store();
      const a = aSession('tgt_a', { userId: 'usr_a', startedAt: 1_000, endedAt: 1_500, endReason: 'closed-by-client' });
      const b = aSession('tgt_b', { userId: 'usr_a', startedAt: 2_000, protocol: 'mysql' });
      const c = aSession('tgt_a', { userId: 'usr_b', startedAt: 3_000, endedAt: 3_500, endReason: 'grant-expired', protocol: 'postgres' });
      for (const x of [b, c, a]) await s.sessions.insert(x);
      const ids = async (f: Parameters<Store['sessions']['list']>[0]): Promise<string[]> => (await s.sessions.list(f)).map((x) => x.id);
      expect(await ids({})).toEqual([c.id, b.id, a.id]);
      expect(await ids({ live: true })).toEqual([b.id]);
      expect(await ids({ live: false })).toEqual([c.id, a.id]);
      expect(await ids({ userId: 'usr_a' })).toEqual([b.id, a.id]);
      expect(await ids({ targetId: 'tgt_a' })).toEqual([c.id, a.id]);
      expect(await ids({ protocol: 'mysql' })).toEqual([b.id]);
      expect(await ids({ endReason: 'grant-expired' })).toEqual([c.id]);
      expect(await ids({ since: 2_000 })).toEqual([c.id, b.id]);
      expect(await ids({ until: 2_000 })).toEqual([a.id]);
      expect(await ids({ since: 1_000, until: 3_000, userId: 'usr_a', targetId: 'tgt_b' })).toEqual([b.id]);
      expect(await ids({ limit: 2 })).toEqual([c.id, b.id]);
    });

    it('pages by keyset without gaps or repeats, also across equal start times', async () => {
      const s = store();
      const all = Array.from({ length: 250 }, (_, i) => aSession('tgt_p', { startedAt: 10_000 + Math.floor(i / 3) }));
      await s.transaction(async () => { for (const x of all) await s.sessions.insert(x); });
      expect(await s.sessions.list({})).toHaveLength(100);
      const seen: string[] = [];
      let before: { startedAt: number; id: string } | undefined;
      for (;;) {
        const page = await s.sessions.list({ limit: 40, before });
        if (page.length === 0) break;
        seen.push(...page.map((x) => x.id));
        const last = page[page.length - 1]!;
        before = { startedAt: last.startedAt, id: last.id };
      }
      const expected = [...all].sort((x, y) => y.startedAt - x.startedAt || (x.id < y.id ? 1 : -1)).map((x) => x.id);
      expect(seen).toEqual(expected);
      expect(await s.sessions.list({ limit: 5_000 })).toHaveLength(250);
    });
  });
}

function describeLinkContract(store: () => Store): void {
  describe('links', () => {
    it('stores links whole, finds them by id and by either hash, lists newest first, updates, refuses duplicate hashes', async () => {
      const s = store();
      const l1 = aLink('tgt_1', 'usr_1', { createdAt: 1_000, status: 'pending', policyId: 'pol_1' });
      const l2 = aLink('tgt_1', 'usr_1', { createdAt: 2_000 });
      await s.links.insert(l1);
      await s.links.insert(l2);
      expect(await s.links.byId(l1.id)).toEqual(l1);
      expect(await s.links.byTokenHash(l2.tokenHash)).toEqual(l2);
      expect(await s.links.bySshCodeHash(l2.sshCodeHash)).toEqual(l2);
      expect(await s.links.byTokenHash('f'.repeat(64))).toBeUndefined();
      expect((await s.links.list()).map((l) => l.id)).toEqual([l2.id, l1.id]);
      await s.links.update({ ...l1, status: 'active', approvedBy: 'usr_2' });
      expect(await s.links.byId(l1.id)).toMatchObject({ status: 'active', approvedBy: 'usr_2' });
      expect(await rejectionCode(s.links.insert({ ...aLink('tgt_1', 'usr_1'), tokenHash: l1.tokenHash }))).toBe('conflict');
    });

    it('consumes exactly `uses` of many concurrent opens, and counts them', async () => {
      const s = store();
      const l = aLink('tgt_1', 'usr_1', { usesLeft: 3 });
      await s.links.insert(l);
      const results = await Promise.all(Array.from({ length: 25 }, () => s.links.consume(l.id, 2_000)));
      expect(results.filter(Boolean)).toHaveLength(3);
      expect(await s.links.byId(l.id)).toMatchObject({ usesLeft: 0, uses: 3 });
    });

    it('consumes atomically inside concurrent transactions too', async () => {
      const s = store();
      const l = aLink('tgt_1', 'usr_1', { usesLeft: 2 });
      await s.links.insert(l);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => s.transaction(async () => {
        if (!(await s.links.consume(l.id, 2_000))) return false;
        await s.grants.insert(aGrant(l.id, 'tgt_1', { source: 'link', id: `grt_link_${i}` }));
        return true;
      })));
      expect(results.filter(Boolean)).toHaveLength(2);
      expect(await s.grants.list({ userId: l.id })).toHaveLength(2);
    });

    it('never consumes a pending, revoked or expired link', async () => {
      const s = store();
      const pending = aLink('tgt_1', 'usr_1', { status: 'pending' });
      const revoked = aLink('tgt_1', 'usr_1', { revokedAt: 1_500 });
      const expired = aLink('tgt_1', 'usr_1', { expiresAt: 2_000 });
      for (const l of [pending, revoked, expired]) await s.links.insert(l);
      for (const l of [pending, revoked, expired]) expect(await s.links.consume(l.id, 2_000)).toBe(false);
      expect(await s.links.consume('lnk_nope', 2_000)).toBe(false);
      expect(await s.links.byId(pending.id)).toMatchObject({ usesLeft: 1, uses: 0 });
    });
  });
}
