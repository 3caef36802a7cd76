// How a session's recording directory is written in its store record: relative to the recordings
// root (normally just the session id), so the record is valid on every node of a cluster whatever
// path each node mounts the shared recordings directory at. Records from before hold an absolute
// path: they are read as they are.
import { isAbsolute, join, relative, sep } from 'node:path';

/** What the session record stores for a recording directory under `root` (absolute when outside it). */
export function recordingRef(root: string | null, dir: string): string {
  if (root === null) return dir;
  const rel = relative(root, dir);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? dir : rel;
}

/**
 * The directory a stored reference names, or null when a relative one would leave the recordings
 * root (a record written by someone with access to the database must not steer file writes).
 */
export function recordingDirOf(root: string, ref: string): string | null {
  if (isAbsolute(ref)) return ref;
  if (ref === '' || ref.split(/[\\/]/).some((part) => part === '..' || part === '') || ref.includes('\0')) return null;
  return join(root, ...ref.split(sep));
}
