import { describe, expect, it } from 'vitest';
import { SerialTransactions, type TxConnection } from '../../gateway/store/sqlite/serial-transactions.js';

/** A connection that logs the statements it is given and can be told to fail one of them. */
function fakeConnection(failOn: string | null = null): TxConnection & { log: string[] } {
  let open = false;
  const log: string[] = [];
  return {
    log,
    get inTransaction() { return open; },
    exec(sql: string) {
      log.push(sql);
      if (sql === failOn) { failOn = null; throw new Error(`${sql} failed`); }
      if (sql === 'BEGIN IMMEDIATE') open = true;
      if (sql === 'COMMIT' || sql === 'ROLLBACK') open = false;
    },
  };
}

describe('serialized SQLite transactions', () => {
  it('releases the connection when BEGIN fails (another process holds the lock), so the next transaction runs', async () => {
    const db = fakeConnection('BEGIN IMMEDIATE');
    const tx = new SerialTransactions(db);
    await expect(tx.transaction(() => Promise.resolve(1))).rejects.toThrow('BEGIN IMMEDIATE failed');
    expect(await tx.transaction(() => Promise.resolve(2))).toBe(2);
    expect(await tx.run(() => 3)).toBe(3);
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'BEGIN IMMEDIATE', 'COMMIT']);
  });

  it('rolls back when COMMIT fails and leaves no transaction open', async () => {
    const db = fakeConnection('COMMIT');
    const tx = new SerialTransactions(db);
    await expect(tx.transaction(() => Promise.resolve('x'))).rejects.toThrow('COMMIT failed');
    expect(db.inTransaction).toBe(false);
    expect(db.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT', 'ROLLBACK']);
  });

  it('runs queued work in arrival order once the running transaction ends', async () => {
    const tx = new SerialTransactions(fakeConnection());
    const order: string[] = [];
    let release = (): void => undefined;
    const held = tx.transaction(() => new Promise<void>((resolve) => { release = resolve; }).then(() => { order.push('tx1'); }));
    const a = tx.run(() => order.push('run-a'));
    const b = tx.transaction(() => { order.push('tx2'); return Promise.resolve(); });
    const c = tx.run(() => order.push('run-c'));
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([]);
    release();
    await Promise.all([held, a, b, c]);
    expect(order).toEqual(['tx1', 'run-a', 'tx2', 'run-c']);
  });

  it('turns a synchronous throw into a rejection, inside and outside a transaction', async () => {
    const tx = new SerialTransactions(fakeConnection());
    await expect(tx.run(() => { throw new Error('sync'); })).rejects.toThrow('sync');
    await expect(tx.transaction(() => tx.transaction(() => { throw new Error('nested sync'); }))).rejects.toThrow('nested sync');
    expect(await tx.run(() => 'still usable')).toBe('still usable');
  });
});
