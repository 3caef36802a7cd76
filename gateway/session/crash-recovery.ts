// Closes the sessions a previous run of this gateway left open when it died without draining
// (`kill -9`, OOM, power loss): their store rows still say live, no `session.ended` was audited,
// their recording's meta.json has no end and the recording was never indexed for search. Run once
// at serve start, before any listener accepts, so no session of this run can be mistaken for an
// orphan. Each one gets `gateway-crashed` in the store and the audit log (one transaction, as a
// normal end), the same end in meta.json, and its recording indexed as a normal end does.
// It does not repair the recording's data files: the FileSink flushed them up to about 1 s before
// the crash, and readers tolerate a torn last line. It revokes no credential: today's credentials
// are vaulted static ones (nothing was issued for the session alone).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditLog } from '../audit/audit-log.js';
import { LOG, type Logger } from '../log/logger.js';
import { META_FILE } from '../../recorder/layout.js';
import { readRecordingMeta, writeRecordingMeta } from '../../recorder/meta.js';
import type { SessionRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { recordingDirOf } from './recording-ref.js';
import { indexRecording } from './search-index.js';
import type { TerminationReason } from './termination.js';

const CRASHED: TerminationReason = 'gateway-crashed';

export interface CrashRecoveryDeps {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  /**
   * Whether this process may close a session it finds live: one it could have owned. With one
   * gateway node on its own store, every session live at start is an orphan of this node's last
   * run, so the composition root passes `() => true`. Once several nodes share one PostgreSQL
   * store, a session live at start may be running on another node: the predicate must then match
   * only this node's sessions (a node id on the session row), or a starting node would cut its
   * peers' users.
   */
  owns(s: SessionRecord): boolean;
  /** Ids of sessions running in this process now; never closed (empty at serve start). */
  running(id: string): boolean;
  /** The recordings root that relative recording references are under (recording-ref.ts); default: none are. */
  recordingsDir?: string;
}

export interface RecoveredSession {
  id: string;
  endedAt: number;
}

/** Ends every orphaned session with `gateway-crashed`. A failure on one is logged and skips only it. */
export async function closeOrphanedSessions(deps: CrashRecoveryDeps): Promise<RecoveredSession[]> {
  const { store, log } = deps;
  // Oldest first, so the audit log books the ends in the order the sessions began.
  const live = (await store.sessions.list({ live: true })).sort((a, b) => a.startedAt - b.startedAt);
  const closed: RecoveredSession[] = [];
  for (const s of live) {
    if (!deps.owns(s) || deps.running(s.id)) continue;
    try {
      closed.push(await closeOne(deps, s));
    } catch (err) {
      log.error({ session: s.id, err }, LOG.sessionCrashRecoveryFailed);
    }
  }
  if (closed.length > 0) log.warn({ sessions: closed.map((c) => c.id) }, LOG.sessionsCrashRecovered);
  return closed;
}

async function closeOne(deps: CrashRecoveryDeps, s: SessionRecord): Promise<RecoveredSession> {
  const { store, audit, clock } = deps;
  const dir = recordingDir(deps, s);
  const metaPath = dir === null ? null : join(dir, META_FILE);
  const meta = metaPath === null ? null : readRecordingMeta(metaPath);
  // The moment of the crash is unknown; the last write to the recording is the best bound on when
  // the session stopped (within the sink's 1 s flush). Without a recording: when we noticed.
  const endedAt = lastActivity(s, dir) ?? clock.now();
  // The actor of a normal end is the session's user; the name is in meta.json, or in the store.
  const actor = meta?.user ?? (s.userId === null ? null : (await store.users.byId(s.userId))?.name) ?? 'system';
  await store.transaction(async () => {
    await store.sessions.end(s.id, endedAt, CRASHED);
    await audit.append('session.ended', actor, { session: s.id, reason: CRASHED });
  });
  // After the store: a crash here leaves a closed session whose meta.json lacks its end (the
  // store is the record of truth), never an end in meta.json that the audit log does not have.
  if (metaPath !== null && meta !== null) {
    writeRecordingMeta(metaPath, { ...meta, ended_at: new Date(endedAt).toISOString(), end_reason: CRASHED });
  }
  // A normal end indexes the recording for search; the dead run never got to. The indexer logs and
  // swallows its own failures (a torn last line is skipped by the readers it uses).
  if (dir !== null) await indexRecording(store, dir, s.id, deps.log);
  return { id: s.id, endedAt };
}

/** The session's recording directory: relative references are under the recordings root; one that escapes it is ignored. */
function recordingDir(deps: CrashRecoveryDeps, s: SessionRecord): string | null {
  if (s.recording === null) return null;
  if (deps.recordingsDir === undefined) return s.recording;
  return recordingDirOf(deps.recordingsDir, s.recording);
}

/** The newest modification time among the recording's files, never before the session's start. */
function lastActivity(s: SessionRecord, dir: string | null): number | null {
  if (dir === null || !existsSync(dir)) return null;
  let newest: number | null = null;
  for (const name of readdirSync(dir)) {
    if (name === META_FILE || name.endsWith('.tmp')) continue;
    const st = statSync(join(dir, name), { throwIfNoEntry: false });
    if (st?.isFile() && (newest === null || st.mtimeMs > newest)) newest = st.mtimeMs;
  }
  return newest === null ? null : Math.max(s.startedAt, Math.floor(newest));
}
