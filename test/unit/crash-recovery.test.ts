// Crash recovery in process: sessions a dead run left open in the store (rows still live, a
// recording with a meta.json that has no end) are closed with `gateway-crashed` by the recovery
// that serve runs at start — store, audit and meta.json alike — on the test app's fake clock.
// Sessions this process does not own or still runs, and sessions already ended, are left alone.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRecordingMeta, writeRecordingMeta } from '../../recorder/meta.js';
import { toEntry } from '../../gateway/audit/audit-log.js';
import { closeOrphanedSessions } from '../../gateway/session/crash-recovery.js';
import type { SessionRecord, UserRecord } from '../../gateway/store/records.js';
import { type TestApp, testApp } from '../support/test-app.js';

let t: TestApp;
let ops: UserRecord;

beforeEach(async () => {
  t = await testApp();
  ops = await t.user('ops', ['ops']);
});

afterEach(() => t.close());

/** A session row as a crashed run leaves it, with a recording directory holding `files`. */
async function orphan(id: string, opts: { recording?: boolean; endedAt?: number } = {}): Promise<SessionRecord> {
  const dir = join(t.app.paths.recordings, id);
  const rec: SessionRecord = {
    id, protocol: 'postgres', userId: ops.id, targetId: 'tgt_x', grantId: 'gr_x', level: 'default', clientAddr: '127.0.0.1',
    startedAt: t.clock.now(), endedAt: null, endReason: null, recording: opts.recording === false ? null : dir, node: null,
  };
  await t.app.store.sessions.insert(rec);
  if (opts.endedAt !== undefined) await t.app.store.sessions.end(id, opts.endedAt, 'closed-by-client');
  if (opts.recording !== false) {
    mkdirSync(dir, { recursive: true });
    writeRecordingMeta(join(dir, 'meta.json'), {
      session: id, protocol: 'postgres', user: 'ops', target: 'db01', grant: 'gr_x', reason: 'r', ticket: null, client_addr: '127.0.0.1',
      started_at: new Date(rec.startedAt).toISOString(),
    });
  }
  return rec;
}

async function endedEvents(): Promise<{ actor: string; data: unknown }[]> {
  const rows = await t.app.store.audit.page(0, 1000);
  return rows.map(toEntry).filter((e) => e.code === 'session.ended').map((e) => ({ actor: e.actor, data: e.data }));
}

const recover = (over: { owns?: (s: SessionRecord) => boolean; running?: (id: string) => boolean } = {}): ReturnType<typeof closeOrphanedSessions> =>
  closeOrphanedSessions({ store: t.app.store, audit: t.app.audit, clock: t.app.clock, log: t.app.log, owns: over.owns ?? (() => true), running: over.running ?? (() => false) });

describe('crash recovery at serve start', () => {
  it('closes every orphan with gateway-crashed in the store, the audit log and meta.json', async () => {
    const a = await orphan('ses_a');
    t.clock.advance(5_000);
    await orphan('ses_b', { recording: false });
    // The statements file was last written 2 s after the start: the best bound on the crash.
    const stmts = join(t.app.paths.recordings, 'ses_a', 'statements.ndjson');
    writeFileSync(stmts, '{"v":1}\n{"v":1,"torn');
    const cast = join(t.app.paths.recordings, 'ses_a', 'ch-1.cast');
    writeFileSync(cast, `${JSON.stringify({ version: 2, width: 80, height: 24, timestamp: a.startedAt / 1000 })}\n[0.5,"o","crashmarker shown\\r\\n"]\n[0.9,"o","tor`);
    utimesSync(cast, a.startedAt / 1000, a.startedAt / 1000);
    const lastWrite = a.startedAt + 2_000;
    utimesSync(stmts, lastWrite / 1000, lastWrite / 1000);
    t.clock.advance(60_000);

    const closed = await recover();

    expect(closed.map((c) => c.id).sort()).toEqual(['ses_a', 'ses_b']);
    const sa = await t.app.store.sessions.byId('ses_a');
    expect(sa).toMatchObject({ endReason: 'gateway-crashed', endedAt: lastWrite });
    expect(await t.app.store.sessions.byId('ses_b')).toMatchObject({ endReason: 'gateway-crashed', endedAt: t.clock.now() });
    expect(await t.app.store.sessions.list({ live: true })).toEqual([]);
    expect(await endedEvents()).toEqual([
      { actor: 'ops', data: { session: 'ses_a', reason: 'gateway-crashed' } },
      { actor: 'ops', data: { session: 'ses_b', reason: 'gateway-crashed' } },
    ]);
    const meta = readRecordingMeta(join(t.app.paths.recordings, 'ses_a', 'meta.json'));
    expect(meta).toMatchObject({ session: 'ses_a', user: 'ops', end_reason: 'gateway-crashed', ended_at: new Date(lastWrite).toISOString() });
    expect((await t.app.audit.verify()).ok).toBe(true);
    // Indexed for search as a normal end would be, the torn last line skipped.
    expect((await t.app.store.search.query('crashmarker', 10)).map((e) => e.sessionId)).toEqual(['ses_a']);
  });

  it('leaves sessions it does not own, sessions running here and sessions already ended alone', async () => {
    await orphan('ses_other_node');
    await orphan('ses_running');
    await orphan('ses_done', { endedAt: t.clock.now() });
    const closed = await recover({ owns: (s) => s.id !== 'ses_other_node', running: (id) => id === 'ses_running' });
    expect(closed).toEqual([]);
    expect((await t.app.store.sessions.list({ live: true })).map((s) => s.id).sort()).toEqual(['ses_other_node', 'ses_running']);
    expect((await t.app.store.sessions.byId('ses_done'))?.endReason).toBe('closed-by-client');
    expect(await endedEvents()).toEqual([]);
    expect(readRecordingMeta(join(t.app.paths.recordings, 'ses_other_node', 'meta.json'))?.end_reason).toBeUndefined();
  });

  it('finds a recording stored relative to the recordings root (a shared recordings dir)', async () => {
    await orphan('ses_rel');
    const rel: SessionRecord = { ...(await t.app.store.sessions.byId('ses_rel'))! };
    // The record as a cluster node writes it: the path relative to the recordings root.
    await t.app.store.sessions.end('ses_rel', t.clock.now(), 'closed-by-client');
    await t.app.store.sessions.insert({ ...rel, id: 'ses_rel2', recording: 'ses_rel' });
    const closed = await closeOrphanedSessions({
      store: t.app.store, audit: t.app.audit, clock: t.app.clock, log: t.app.log, recordingsDir: t.app.paths.recordings,
      owns: (s) => s.id === 'ses_rel2', running: () => false,
    });
    expect(closed.map((c) => c.id)).toEqual(['ses_rel2']);
    expect(readRecordingMeta(join(t.app.paths.recordings, 'ses_rel', 'meta.json'))?.end_reason).toBe('gateway-crashed');
  });

  it('is idempotent: a second start finds nothing to close', async () => {
    await orphan('ses_a');
    expect(await recover()).toHaveLength(1);
    expect(await recover()).toEqual([]);
    expect(await endedEvents()).toHaveLength(1);
  });
});
