import Database from 'better-sqlite3';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../gateway/audit/canonical-json.js';
import { plainHash } from '../../gateway/audit/chain.js';
import type { VerifyResult } from '../../gateway/audit/verify.js';
import { verifyDataDir } from '../../gateway/audit/verify-offline.js';
import { testApp } from '../support/test-app.js';

let dir = '';

/** A data dir with six audit entries (keyed from seq 1) and its checkpoints; the app is closed. */
async function chainOnDisk(): Promise<string> {
  const t = await testApp();
  for (let i = 0; i < 5; i++) await t.user(`user${i}`, ['ops']);
  await t.app.close();
  dir = t.dir;
  return join(t.dir, 'state.db');
}

interface Row { seq: number; ts: number; code: string; actor: string; data: string; prev_hash: string; hash: string }

// Tampering is done the way an attacker with the database file would: straight into SQLite, after
// dropping the append-only triggers. They hold the database, not the master key.
function tamper(file: string, sql: string[]): void {
  const db = new Database(file);
  db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
  for (const s of sql) db.exec(s);
  db.close();
}

/** Recomputes every link from `fromSeq` on with `link` (what an attacker without the key can do). */
function recompute(file: string, fromSeq: number, link: (prev: string, r: Row) => string): void {
  const db = new Database(file);
  db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
  const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[];
  let prev = '0'.repeat(64);
  const upd = db.prepare('UPDATE audit SET prev_hash=?, hash=? WHERE seq=?');
  for (const r of rows) {
    if (r.seq >= fromSeq) {
      const hash = link(prev, r);
      upd.run(prev, hash, r.seq);
      prev = hash;
    } else {
      prev = r.hash;
    }
  }
  db.close();
}

const plainLink = (prev: string, r: Row): string => plainHash(prev, { ...r, data: JSON.parse(r.data) as unknown });
const wrongKey = randomBytes(32);
const wrongKeyLink = (prev: string, r: Row): string => createHmac('sha256', wrongKey)
  .update('portcullis-audit-v2\n' + prev + '\n' + canonicalJson({ seq: r.seq, ts: r.ts, code: r.code, actor: r.actor, data: JSON.parse(r.data) as unknown }))
  .digest('hex');

function verify(): Promise<VerifyResult> {
  return verifyDataDir(dir, {});
}

const checkpointFile = (): string => join(dir, 'audit-checkpoints.ndjson');
const checkpointLines = (): string[] => readFileSync(checkpointFile(), 'utf8').split('\n').filter(Boolean);

describe('the audit chain', () => {
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies an untouched chain, keyed from the first entry, with its checkpoints', async () => {
    await chainOnDisk();
    const r = await verify();
    expect(r).toMatchObject({ ok: true, entries: 6, keyedFrom: 1, uncovered: 0 });
    // keying-began (empty log) at start, then the shutdown checkpoint at close.
    expect(r.ok && r.checkpoints).toBe(2);
    expect(checkpointLines().map((l) => (JSON.parse(l) as { reason: string }).reason)).toEqual(['keying-began', 'shutdown']);
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
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'hash-mismatch', entries: 3 });
  });

  it('detects an entry whose stored text was rewritten to parse to the same value (duplicate keys read differently by SQL)', async () => {
    const file = await chainOnDisk();
    // JSON.parse keeps the last "user", SQLite's json_extract the first: the link still matched.
    tamper(file, [`UPDATE audit SET data = replace(data, '"user":"user2"', '"user":"userX","user":"user2"') WHERE seq = 4`]);
    const db = new Database(file);
    expect((db.prepare("SELECT json_extract(data, '$.user') AS u FROM audit WHERE seq = 4").get() as { u: string }).u).toBe('userX');
    db.close();
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'hash-mismatch', entries: 3 });
  });

  it('detects a deleted entry', async () => {
    const file = await chainOnDisk();
    tamper(file, ['DELETE FROM audit WHERE seq = 3']);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'sequence-gap' });
  });

  it('detects a deleted entry even when the sequence is renumbered', async () => {
    const file = await chainOnDisk();
    tamper(file, ['DELETE FROM audit WHERE seq = 3', 'UPDATE audit SET seq = seq - 1 WHERE seq > 3']);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'broken-link' });
  });

  it('detects reordered entries', async () => {
    const file = await chainOnDisk();
    tamper(file, ['UPDATE audit SET seq = 100 WHERE seq = 3', 'UPDATE audit SET seq = 3 WHERE seq = 4', 'UPDATE audit SET seq = 4 WHERE seq = 100']);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'broken-link' });
  });

  it('detects an edit whose links were all recomputed with plain SHA-256 (no key), and says so', async () => {
    const file = await chainOnDisk();
    tamper(file, [`UPDATE audit SET data = replace(data, 'user2', 'userX') WHERE seq = 4`]);
    recompute(file, 4, plainLink);
    const r = await verify();
    expect(r).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'hash-mismatch' });
    expect(!r.ok && r.detail).toMatch(/recomputed without the key/);
  });

  it('detects an edit whose links were recomputed with a wrong HMAC key', async () => {
    const file = await chainOnDisk();
    tamper(file, [`UPDATE audit SET actor = 'nobody' WHERE seq = 2`]);
    recompute(file, 2, wrongKeyLink);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 2, problem: 'hash-mismatch' });
  });

  it('detects a truncation behind the last checkpoint, naming the first missing seq', async () => {
    const file = await chainOnDisk();
    tamper(file, ['DELETE FROM audit WHERE seq >= 5']);
    const r = await verify();
    expect(r).toMatchObject({ ok: false, firstBadSeq: 5, problem: 'truncated', entries: 4 });
    expect(!r.ok && r.detail).toMatch(/reached seq 6; the store ends at seq 4/);
  });

  it('detects a checkpoint line with a bad signature, and one removed from the middle', async () => {
    await chainOnDisk();
    const lines = checkpointLines();
    const forged = lines[1]!.replace(/"seq":6/, '"seq":5');
    writeFileSync(checkpointFile(), [lines[0], forged].join('\n') + '\n');
    expect(await verify()).toMatchObject({ ok: false, problem: 'checkpoint-bad-signature', checkpointLine: 2, firstBadSeq: null });
    writeFileSync(checkpointFile(), [lines[1]].join('\n') + '\n');
    expect(await verify()).toMatchObject({ ok: false, problem: 'checkpoint-invalid', checkpointLine: 1 });
  });

  it('uses an off-host copy of the checkpoints when the local file was cut with the store', async () => {
    const file = await chainOnDisk();
    const copy = join(dir, 'webhook-copy.ndjson');
    writeFileSync(copy, readFileSync(checkpointFile()));
    tamper(file, ['DELETE FROM audit WHERE seq >= 5']);
    writeFileSync(checkpointFile(), checkpointLines()[0] + '\n');
    // What cannot be seen locally once the file is cut too...
    expect(await verify()).toMatchObject({ ok: true, entries: 4 });
    // ...the copy shows.
    expect(await verifyDataDir(dir, {}, { checkpointsFile: copy })).toMatchObject({ ok: false, problem: 'truncated', firstBadSeq: 5 });
  });

  it('keeps the key out of the database: the store file holds neither the key nor the master key', async () => {
    const file = await chainOnDisk();
    const t = await verify();
    expect(t.ok).toBe(true);
    const master = readFileSync(join(dir, 'master.key'), 'utf8').trim();
    const bytes = readFileSync(file);
    expect(bytes.includes(Buffer.from(master, 'base64'))).toBe(false);
    expect(bytes.includes(Buffer.from(master))).toBe(false);
    expect(existsSync(join(dir, 'audit.key'))).toBe(true);
    expect(readFileSync(join(dir, 'audit.key'), 'utf8')).toMatch(/"sealed":"v1\./);
  });
});
