import Database from 'better-sqlite3';
import { createPublicKey } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointNotice } from '../../gateway/access/events.js';
import { type App, buildApp } from '../../gateway/app.js';
import { deriveAuditKey } from '../../gateway/audit/audit-key.js';
import { GENESIS_HASH, plainHash } from '../../gateway/audit/chain.js';
import { canonicalJson } from '../../gateway/audit/canonical-json.js';
import { parseCheckpoint } from '../../gateway/audit/checkpoint-format.js';
import { verifyDataDir } from '../../gateway/audit/verify-offline.js';
import { defaultConfig } from '../../gateway/config/config.js';
import { createLogger } from '../../gateway/log/logger.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { createMasterKeyFile } from '../../gateway/vault/master-key.js';
import { FakeClock } from '../support/fake-clock.js';
import { testApp } from '../support/test-app.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = (): Array<{ n: number; seq: number; reason: string; keyedFrom: number }> => existsSync(join(dir, 'audit-checkpoints.ndjson'))
  ? readFileSync(join(dir, 'audit-checkpoints.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { n: number; seq: number; reason: string; keyedFrom: number })
  : [];

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

function app(clock = new FakeClock()): App {
  return buildApp(defaultConfig(dir), { clock, env: {}, log: createLogger('silent') });
}

/** What a data dir written by the previous version looks like: plain SHA-256 links, no audit files. */
async function legacyDataDir(entries: number): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'portcullis-legacy-'));
  createMasterKeyFile(dir);
  const store = openSqliteStore(join(dir, 'state.db'));
  for (let i = 1; i <= entries; i++) {
    await store.audit.append((last) => {
      const seq = (last?.seq ?? 0) + 1;
      const prevHash = last?.hash ?? GENESIS_HASH;
      const row = { seq, ts: 1_700_000_000_000 + i, code: 'user.removed', actor: 'old', data: { user: `legacy${i}` } };
      return { ...row, data: canonicalJson(row.data), prevHash, hash: plainHash(prevHash, row) };
    });
  }
  await store.close();
}

describe('audit checkpoints', () => {
  it('writes one on schedule only when the head moved, and one at every shutdown', async () => {
    const t = await testApp();
    dir = t.dir;
    expect(lines().map((l) => l.reason)).toEqual(['keying-began']);
    t.clock.advance(60_000);
    await until('the scheduled checkpoint', () => lines().length === 2);
    expect(lines()[1]).toMatchObject({ n: 2, seq: 1, reason: 'schedule' });
    t.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(lines()).toHaveLength(2);
    await t.app.audit.append('user.removed', 'test', { user: 'x' });
    await t.app.close();
    expect(lines().map((l) => [l.reason, l.seq])).toEqual([['keying-began', 0], ['schedule', 1], ['shutdown', 2]]);
    expect(await verifyDataDir(dir, {})).toMatchObject({ ok: true, entries: 2, checkpoints: 3, uncovered: 0 });
  });

  it('leaves the file alone when the app is closed without having started (a second serve refused on a running node)', async () => {
    const t = await testApp();
    dir = t.dir;
    const before = lines();
    expect(before.length).toBeGreaterThan(0);
    // What serve does when the cluster refuses its node name: build, fail to start, close.
    const refused = app();
    await refused.close();
    expect(lines()).toEqual(before);
    await t.app.close();
    expect(lines().length).toBe(before.length + 1);
  });

  it('never signs a head behind its last checkpoint when the store is cut under a running gateway', async () => {
    const t = await testApp();
    dir = t.dir;
    for (let i = 0; i < 3; i++) await t.app.audit.append('user.removed', 'test', { user: `u${i}` });
    t.clock.advance(60_000);
    await until('the scheduled checkpoint', () => lines().length === 2);
    const db = new Database(join(dir, 'state.db'));
    db.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > 2;');
    db.close();
    t.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(lines().map((l) => l.seq)).toEqual([0, 4]);
    expect(await t.app.audit.verify()).toMatchObject({ ok: false, problem: 'truncated', firstBadSeq: 3 });
    // New entries refill seqs 3 and 4 with other content: the checkpoint at 4 still tells.
    await t.app.audit.append('user.removed', 'test', { user: 'refill-3' });
    await t.app.audit.append('user.removed', 'test', { user: 'refill-4' });
    expect(await t.app.audit.verify()).toMatchObject({ ok: false, problem: 'checkpoint-mismatch', firstBadSeq: 4 });
    await t.app.close();
  });

  it('sends each checkpoint to the webhooks as a signed line a receiver can check', async () => {
    const sent: Array<{ event: string; data: CheckpointNotice }> = [];
    const t = await testApp({
      config: (c) => { c.webhooks = [{ url: 'http://127.0.0.1:9/hook', events: [] }]; },
      poster: (_u, body) => { sent.push(JSON.parse(body) as { event: string; data: CheckpointNotice }); return Promise.resolve(204); },
    });
    dir = t.dir;
    await t.app.close();
    const cps = sent.filter((s) => s.event === 'audit.checkpoint').map((s) => s.data);
    expect(cps.map((c) => c.reason)).toEqual(['keying-began', 'shutdown']);
    const raw = Buffer.from(cps[1]!.public_key, 'base64');
    const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
    expect(parseCheckpoint(cps[1]!.line, key)).toMatchObject({ ok: true, cp: { seq: 1, reason: 'shutdown' } });
    expect(parseCheckpoint(cps[1]!.line.replace('"seq":1', '"seq":2'), key)).toMatchObject({ ok: false, why: 'bad signature' });
  });

  it('migrates a plain log: old entries keep their links, the first checkpoint pins where keying began', async () => {
    await legacyDataDir(5);
    const a = app();
    await a.checkpoints.start();
    await a.audit.append('user.removed', 'new', { user: 'n1' });
    await a.audit.append('user.removed', 'new', { user: 'n2' });
    await a.close();
    expect(lines()[0]).toMatchObject({ reason: 'keying-began', seq: 5, keyedFrom: 6 });
    expect(await verifyDataDir(dir, {})).toMatchObject({ ok: true, entries: 7, keyedFrom: 6 });
  });

  it('catches a rewrite of the pre-keying part and a database writer un-keying later entries', async () => {
    await legacyDataDir(5);
    const a = app();
    await a.checkpoints.start();
    for (let i = 0; i < 3; i++) await a.audit.append('user.removed', 'new', { user: `n${i}` });
    await a.close();
    const file = join(dir, 'state.db');
    const snapshot = readFileSync(file);
    // The old part edited and its plain links recomputed: valid as a plain chain, but the first
    // checkpoint holds the head it had.
    rewrite(file, 2, 5, (r) => ({ ...r, actor: 'someone-else' }));
    expect(await verifyDataDir(dir, {})).toMatchObject({ ok: false, problem: 'checkpoint-mismatch', firstBadSeq: 5 });
    // Keyed entries recomputed as plain ones (moving the boundary forward): refused at the boundary.
    writeBack(file, snapshot);
    rewrite(file, 6, 8, (r) => r);
    const r = await verifyDataDir(dir, {});
    expect(r).toMatchObject({ ok: false, problem: 'hash-mismatch', firstBadSeq: 6 });
  });

  it('keeps the chain verifiable across a master key rotation once the old key is deleted', async () => {
    const t = await testApp();
    dir = t.dir;
    await t.user('ops', ['ops']);
    await t.app.creds.rotateKey();
    await t.app.audit.append('vault.rotated', 'test', { keyId: 'k', resealed: 1 });
    await t.app.close();
    rmSync(join(dir, 'master.key.old'), { force: true });
    expect(await verifyDataDir(dir, {})).toMatchObject({ ok: true, entries: 3, keyedFrom: 1 });
    // And the next start appends under the same audit key, read from audit.key with the new master key.
    const a = app();
    await a.checkpoints.start();
    await a.audit.append('user.removed', 'test', { user: 'after-restart' });
    await a.close();
    expect(await verifyDataDir(dir, {})).toMatchObject({ ok: true, entries: 4 });
  });

  it('finds where keying began after a crash that left keyed entries but no audit.key or checkpoint', async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-crash-'));
    createMasterKeyFile(dir);
    const a = app();
    await a.audit.append('user.removed', 'x', { user: 'a' });
    await a.audit.append('user.removed', 'x', { user: 'b' });
    await a.store.close();
    rmSync(join(dir, 'audit.key'));
    const b = app();
    await b.checkpoints.start();
    await b.close();
    expect(lines()[0]).toMatchObject({ keyedFrom: 1, seq: 2 });
    expect(await verifyDataDir(dir, {})).toMatchObject({ ok: true, entries: 2, keyedFrom: 1 });
  });

  it('refuses to fix a boundary when the chain is keyed under another key (a node joining without audit.key)', async () => {
    const t = await testApp();
    dir = t.dir;
    await t.app.close();
    for (const f of ['audit.key', 'audit-checkpoints.ndjson', 'master.key']) rmSync(join(dir, f));
    createMasterKeyFile(dir);
    const a = app();
    await expect(a.checkpoints.start()).rejects.toThrow(/not made with this node's audit key: copy audit.key/);
    expect(lines()).toEqual([]);
    await a.store.close();
  });

  it('cuts a torn last line of its own, and derives the key from the master key with HKDF', async () => {
    const t = await testApp();
    dir = t.dir;
    await t.app.close();
    appendFileSync(join(dir, 'audit-checkpoints.ndjson'), '{"v":1,"n":3,"se');
    expect(await verifyDataDir(dir, {})).toMatchObject({ ok: true, notes: expect.arrayContaining([expect.stringMatching(/no newline/)]) as string[] });
    const a = app();
    await a.checkpoints.start();
    await a.audit.append('user.removed', 'x', { user: 'a' });
    await a.close();
    expect(await verifyDataDir(dir, {})).toMatchObject({ ok: true, entries: 2 });
    const master = Buffer.from(readFileSync(join(dir, 'master.key'), 'utf8').trim(), 'base64');
    expect(a.audit.key.key.equals(deriveAuditKey(master))).toBe(true);
    expect(readFileSync(join(dir, 'state.db')).includes(a.audit.key.key)).toBe(false);
  });
});

interface Row { seq: number; ts: number; code: string; actor: string; data: string; prev_hash: string; hash: string }

/** An attacker with the database only: change rows from..to and recompute plain links over them. */
function rewrite(file: string, from: number, to: number, edit: (r: Row) => Row): void {
  const db = new Database(file);
  db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
  const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[];
  let prev = GENESIS_HASH;
  for (const r of rows) {
    if (r.seq >= from && r.seq <= to) {
      const e = edit(r);
      const hash = plainHash(prev, { ...e, data: JSON.parse(e.data) as unknown });
      db.prepare('UPDATE audit SET actor=?, prev_hash=?, hash=? WHERE seq=?').run(e.actor, prev, hash, r.seq);
      prev = hash;
    } else {
      prev = r.hash;
    }
  }
  db.close();
}

function writeBack(file: string, bytes: Buffer): void {
  rmSync(file + '-wal', { force: true });
  rmSync(file + '-shm', { force: true });
  const db = new Database(file);
  db.close();
  rmSync(file);
  appendFileSync(file, bytes);
}
