// The one module that knows where a recording's files are: `<data>/recordings/<session>/` and
// the names inside it (README.md lists what each holds). Everything that builds a recording path
// asks here, so the layout can change in one place. Pure names and one directory listing; it
// reads or writes no file contents.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The recordings folder inside a node's data directory. */
export const RECORDINGS_DIR = 'recordings';
/** Session metadata: written when the recording opens, rewritten with the end at close. */
export const META_FILE = 'meta.json';
/** Structured events of terminal sessions (exec summaries, file operations, forwards, markers). */
export const EVENTS_FILE = 'events.ndjson';
/** One statement record per line (database sessions). */
export const STATEMENTS_FILE = 'statements.ndjson';

/** The whole text of statement number n (1-based) when it is too long to sit in its record. */
export function statementTextFile(n: number): string {
  return `stmt-${n}.sql`;
}

/** The whole bound parameters of statement number n (a JSON array) when they are too long for its record. */
export function statementParamsFile(n: number): string {
  return `stmt-${n}.params.json`;
}

const STATEMENT_TEXT = /^stmt-\d{1,10}\.sql$/;
const STATEMENT_PARAMS = /^stmt-\d{1,10}\.params\.json$/;

/** Whether a name is a statement parameters side file (`stmt-N.params.json`). */
export function isStatementParamsFile(name: string): boolean {
  return STATEMENT_PARAMS.test(name);
}

/** Whether a name is a statement side file (`stmt-N.sql`). */
export function isStatementTextFile(name: string): boolean {
  return STATEMENT_TEXT.test(name);
}

export type CaptureStream = 'stdout' | 'stderr';

const CAST = /^ch-(\d{1,6})\.cast$/;
/** The names the recorder writes that a viewer may read (sidecars are derived, not served). */
const SERVABLE = /^(ch-\d{1,6}\.cast|events\.ndjson|statements\.ndjson|meta\.json|exec-\d{1,6}\.(stdout|stderr)|stmt-\d{1,10}\.sql|stmt-\d{1,10}\.params\.json)$/;
/** Session ids are generated (`ses_` + base64url); anything else must never become a path. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function recordingsRoot(dataDir: string): string {
  return join(dataDir, RECORDINGS_DIR);
}

/** The terminal recording of channel n (1-based, in the order channels opened). */
export function castFile(channel: number): string {
  return `ch-${channel}.cast`;
}

/** The channel of a cast file name, or null if the name is not one. */
export function castChannel(name: string): number | null {
  const m = CAST.exec(name);
  return m ? Number(m[1]) : null;
}

/** Full capture of exec number n's output (only under the full-capture policy). */
export function execCaptureFile(n: number, stream: CaptureStream): string {
  return `exec-${n}.${stream}`;
}

/** The keyframe/index sidecar of a cast: written at close (or on first open), rebuilt if stale. */
export function keyframePath(castPath: string): string {
  return castPath.replace(/\.cast$/, '.keyframes.json');
}

/** Whether a viewer may fetch this file name through the API: only what the recorder writes. */
export function isServableRecordingFile(name: string): boolean {
  return SERVABLE.test(name);
}

/** The directory of one session's recording. Throws on an id that could escape the root. */
export function sessionRecordingDir(root: string, sessionId: string): string {
  if (!SESSION_ID.test(sessionId)) throw new Error(`not a session id: ${JSON.stringify(sessionId)}`);
  return join(root, sessionId);
}

/** The paths of one session's recording directory. */
export class RecordingLayout {
  constructor(readonly dir: string) {}

  static of(root: string, sessionId: string): RecordingLayout {
    return new RecordingLayout(sessionRecordingDir(root, sessionId));
  }

  static inDataDir(dataDir: string, sessionId: string): RecordingLayout {
    return RecordingLayout.of(recordingsRoot(dataDir), sessionId);
  }

  get meta(): string { return join(this.dir, META_FILE); }
  get events(): string { return join(this.dir, EVENTS_FILE); }
  get statements(): string { return join(this.dir, STATEMENTS_FILE); }
  cast(channel: number): string { return join(this.dir, castFile(channel)); }
  keyframes(channel: number): string { return keyframePath(this.cast(channel)); }
  execCapture(n: number, stream: CaptureStream): string { return join(this.dir, execCaptureFile(n, stream)); }
  file(name: string): string { return join(this.dir, name); }

  /** Channels that have a cast file, in channel order (a missing directory has none). */
  castChannels(): number[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).map(castChannel).filter((n): n is number => n !== null).sort((a, b) => a - b);
  }

  /** The servable files with their sizes, sorted by name (a missing directory has none). */
  servableFiles(): Array<{ file: string; bytes: number }> {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter(isServableRecordingFile).sort().map((f) => ({ file: f, bytes: statSync(join(this.dir, f)).size }));
  }
}
