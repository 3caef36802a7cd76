import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain, type VerifyResult } from '../../gateway/audit/audit-log.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { testApp } from '../support/test-app.js';

let dir = '';

/** A store with six audit entries on disk; the app that wrote them is closed. */
async function chainOnDisk(): Promise<string> {
  const t = await testApp();
  for (let i = 0; i < 5; i++) await t.user(`user${i}`, ['ops']);
  await t.app.close();
  dir = t.dir;
  return join(t.dir, 'state.db');
}

// Tampering is done the way an attacker with file access would: straight into SQLite, after
// dropping the append-only triggers.
function tamper(file: string, sql: string[]): void {
  const db = new Database(file);
  db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
  for (const s of sql) db.exec(s);
  db.close();
}

async function verify(file: string): Promise<VerifyResult> {
  const store = openSqliteStore(file);
  try {
    return await verifyChain(store);
  } finally {
    await store.close();
  }
}

describe('the audit hash chain', () => {
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies an untouched chain and reports its head', async () => {
    const file = await chainOnDisk();
    expect(await verify(file)).toMatchObject({ ok: true, entries: 6 });
  });

  it('stays one chain, in call order, under concurrent appends from inside and outside transactions', async () => {
    const t = await testApp();
    dir = t.dir;
    const calls = Array.from({ length: 60 }, (_, i) => i % 5 === 0
      ? t.app.store.transaction(() => t.app.audit.append('user.removed', 'test', { user: `u${i}` }))
      : t.app.audit.append('user.removed', 'test', { user: `u${i}` }));
    await Promise.all(calls);
    const users = (await t.app.audit.page(0, 1000)).filter((e) => e.code === 'user.removed').map((e) => (e.data as { user: string }).user);
    expect(users).toEqual(Array.from({ length: 60 }, (_, i) => `u${i}`));
    expect(await t.app.audit.verify()).toMatchObject({ ok: true, entries: 61 });
    await t.app.close();
  });

  it('refuses updates and deletes at the database level', async () => {
    const file = await chainOnDisk();
    const db = new Database(file);
    expect(() => db.exec("UPDATE audit SET actor='x'")).toThrowError(/append-only/);
    expect(() => db.exec('DELETE FROM audit')).toThrowError(/append-only/);
    db.close();
  });

  it('names the first edited entry', async () => {
    const file = await chainOnDisk();
    tamper(file, [`UPDATE audit SET data = replace(data, 'user2', 'userX') WHERE seq = 4`]);
    expect(await verify(file)).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'hash-mismatch', entries: 3 });
  });

  it('detects a deleted entry', async () => {
    const file = await chainOnDisk();
    tamper(file, ['DELETE FROM audit WHERE seq = 3']);
    expect(await verify(file)).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'sequence-gap' });
  });

  it('detects a deleted entry even when the sequence is renumbered', async () => {
    const file = await chainOnDisk();
    tamper(file, ['DELETE FROM audit WHERE seq = 3', 'UPDATE audit SET seq = seq - 1 WHERE seq > 3']);
    expect(await verify(file)).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'broken-link' });
  });

  it('detects reordered entries', async () => {
    const file = await chainOnDisk();
    tamper(file, ['UPDATE audit SET seq = 100 WHERE seq = 3', 'UPDATE audit SET seq = 3 WHERE seq = 4', 'UPDATE audit SET seq = 4 WHERE seq = 100']);
    expect(await verify(file)).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'broken-link' });
  });
});
