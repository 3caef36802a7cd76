// The transaction half of the Store contract: commit, rollback (no transaction left open by an
// error), nesting, isolation from callers outside the transaction, serialization of concurrent
// transactions, and one audit chain under concurrent appends. Registered by store-contract.ts.
import { describe, expect, it } from 'vitest';
import type { AuditRow } from '../../gateway/store/records.js';
import type { Store } from '../../gateway/store/store.js';
import { aUser } from './store-fixtures.js';

/** A promise the test resolves by hand, to hold a transaction open at a known point. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => { open = resolve; });
  return { wait, open };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

function chainRow(head: AuditRow | undefined, code: string): AuditRow {
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? '0'.repeat(64);
  return { seq, ts: seq, code, actor: 'test', data: '{}', prevHash, hash: `${prevHash.slice(0, 8)}:${seq}`.padEnd(64, 'x') };
}

export function describeTransactionContract(store: () => Store): void {
  describe('transactions', () => {
    it('commits every write of fn and resolves to its value', async () => {
      const s = store();
      const [a, b] = [aUser(), aUser()];
      const v = await s.transaction(async () => {
        await s.users.insert(a);
        await s.users.insert(b);
        expect(await s.users.byId(a.id)).toEqual(a);
        return 42;
      });
      expect(v).toBe(42);
      expect(await s.users.list()).toHaveLength(2);
    });

    it('rolls back every write when fn rejects or throws, rejects with the same error, and leaves no transaction open', async () => {
      const s = store();
      const a = aUser();
      const boom = new Error('boom');
      await expect(s.transaction(async () => { await s.users.insert(a); throw boom; })).rejects.toBe(boom);
      expect(await s.users.byId(a.id)).toBeUndefined();
      await expect(s.transaction(() => { throw boom; })).rejects.toBe(boom);
      // A conflict inside a transaction fails it whole.
      const b = aUser();
      await s.users.insert(b);
      const c = aUser();
      await expect(s.transaction(async () => { await s.users.insert(c); await s.users.insert({ ...aUser(), name: b.name }); })).rejects.toMatchObject({ code: 'conflict' });
      expect(await s.users.byId(c.id)).toBeUndefined();
      // The store is usable afterwards: a fresh transaction commits.
      await s.transaction(async () => { await s.users.insert(a); });
      expect(await s.users.byId(a.id)).toEqual(a);
    });

    it('joins a nested transaction to the outer one: all commit together or none does', async () => {
      const s = store();
      const [a, b, c] = [aUser(), aUser(), aUser()];
      await s.transaction(async () => {
        await s.users.insert(a);
        await s.transaction(async () => { await s.users.insert(b); });
      });
      expect(await s.users.list()).toHaveLength(2);
      await expect(s.transaction(async () => {
        await s.transaction(async () => { await s.users.insert(c); });
        expect(await s.users.byId(c.id)).toEqual(c);
        throw new Error('outer fails');
      })).rejects.toThrow('outer fails');
      expect(await s.users.byId(c.id)).toBeUndefined();
    });

    it('never lets concurrent transactions interleave (no lost updates)', async () => {
      const s = store();
      const u = aUser({ totpLastStep: 0 });
      await s.users.insert(u);
      const trace: string[] = [];
      await Promise.all(Array.from({ length: 8 }, (_, i) => s.transaction(async () => {
        trace.push(`begin${i}`);
        const cur = (await s.users.byId(u.id))!;
        await tick();
        await s.users.update({ ...cur, totpLastStep: cur.totpLastStep + 1 });
        trace.push(`end${i}`);
      })));
      expect((await s.users.byId(u.id))?.totpLastStep).toBe(8);
      for (let i = 0; i < trace.length; i += 2) expect(trace[i + 1]?.replace('end', '')).toBe(trace[i]?.replace('begin', ''));
    });

    it('keeps callers outside a transaction out of it: they never see its uncommitted writes, nor are their writes undone with it', async () => {
      const s = store();
      const inside = aUser();
      const outside = aUser();
      const g = gate();
      const tx = s.transaction(async () => {
        await s.users.insert(inside);
        await g.wait;
        throw new Error('roll back');
      });
      await tick();
      const read = s.users.byId(inside.id);
      const write = s.users.insert(outside);
      await tick();
      g.open();
      await expect(tx).rejects.toThrow('roll back');
      expect(await read).toBeUndefined();
      await write;
      expect(await s.users.byId(outside.id)).toEqual(outside);
      expect(await s.users.byId(inside.id)).toBeUndefined();
    });

    it('treats work that a transaction started but did not await as outside it once it has ended', async () => {
      const s = store();
      const late = aUser();
      const g = gate();
      let straggler: Promise<void> = Promise.resolve();
      await expect(s.transaction(async () => {
        straggler = (async () => { await g.wait; await s.users.insert(late); })();
        await s.users.insert(aUser());
        throw new Error('roll back');
      })).rejects.toThrow('roll back');
      g.open();
      await straggler;
      expect(await s.users.byId(late.id)).toEqual(late);
      expect(await s.users.list()).toEqual([late]);
    });
  });

  describe('audit chain', () => {
    it('appends rows built from the head, pages them in order and reports the head', async () => {
      const s = store();
      expect(await s.audit.last()).toBeUndefined();
      const first = await s.audit.append((head) => chainRow(head, 'a'));
      const second = await s.audit.append((head) => chainRow(head, 'b'));
      expect(first.seq).toBe(1);
      expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
      expect(await s.audit.last()).toEqual(second);
      expect((await s.audit.page(0, 10)).map((r) => r.code)).toEqual(['a', 'b']);
      expect(await s.audit.page(1, 10)).toEqual([second]);
      expect(await s.audit.page(0, 1)).toEqual([first]);
    });

    it('keeps one chain, in call order, under concurrent appends inside and outside transactions', async () => {
      const s = store();
      const calls: Array<Promise<AuditRow>> = [];
      for (let i = 0; i < 40; i++) {
        calls.push(i % 4 === 0
          ? s.transaction(async () => { await tick(); return s.audit.append((head) => chainRow(head, `c${i}`)); })
          : s.audit.append((head) => chainRow(head, `c${i}`)));
      }
      await Promise.all(calls);
      const rows = await s.audit.page(0, 100);
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
      // Plain appends keep the order they were called in relative to each other.
      const plain = rows.map((r) => Number(r.code.slice(1))).filter((i) => i % 4 !== 0);
      expect(plain).toEqual([...plain].sort((x, y) => x - y));
    });

    it('rolls an append back with its transaction, and the chain continues from the committed head', async () => {
      const s = store();
      await s.audit.append((head) => chainRow(head, 'kept'));
      await expect(s.transaction(async () => {
        await s.audit.append((head) => chainRow(head, 'lost'));
        throw new Error('roll back');
      })).rejects.toThrow('roll back');
      const next = await s.audit.append((head) => chainRow(head, 'next'));
      expect(next.seq).toBe(2);
      expect((await s.audit.page(0, 10)).map((r) => r.code)).toEqual(['kept', 'next']);
    });
  });
}
