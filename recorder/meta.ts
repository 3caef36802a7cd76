// meta.json, the sidecar that says whose session a recording is: its fields, the recording format
// version, an atomic writer (a crash leaves the old or the new file, never half of one) and a
// tolerant reader. It does not know where the file lives (layout.ts) or when it is written
// (session-recording.ts).
import { readFileSync } from 'node:fs';
import { writeFileAtomic, writeFileAtomicAsync } from './atomic-file.js';

/**
 * Version of the recording directory as a whole (which files, meta.json's fields). Absent in
 * recordings written before it existed, which readers treat as format 0: same layout, statement
 * records without a version. Each file format carries its own version too (asciicast `version`,
 * statement `v`).
 */
export const RECORDING_FORMAT_VERSION = 1;

export interface RecordingMeta {
  format?: number;
  session: string;
  protocol: string;
  user: string;
  target: string;
  grant: string;
  reason: string;
  ticket: string | null;
  client_addr: string;
  started_at: string;
  /** Set when the session was opened through a one-time link. */
  link?: { id: string; label: string; issuer: string };
  /** The access level of the session's grant (absent in recordings made before levels existed). */
  level?: string;
  ended_at?: string;
  end_reason?: string;
  channels?: number;
}

/**
 * Replaces the file through a rename, so readers never see a torn or empty meta.json; on a full
 * disk it throws and the previous meta.json (if any) stays as it was.
 */
export function writeRecordingMeta(path: string, meta: RecordingMeta): void {
  writeFileAtomic(path, JSON.stringify(meta, null, 2) + '\n');
}

/** The same, off the event loop (a recording that opens or closes while others relay). */
export function writeRecordingMetaAsync(path: string, meta: RecordingMeta): Promise<void> {
  return writeFileAtomicAsync(path, JSON.stringify(meta, null, 2) + '\n');
}

/** The metadata, or null when the file is missing or not a recording's metadata. */
export function readRecordingMeta(path: string): RecordingMeta | null {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof m !== 'object' || m === null) return null;
    const o = m as Partial<RecordingMeta>;
    return typeof o.session === 'string' && typeof o.protocol === 'string' && typeof o.started_at === 'string' ? o as RecordingMeta : null;
  } catch {
    return null;
  }
}
