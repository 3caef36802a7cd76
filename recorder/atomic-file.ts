// Write-then-rename for a recording's sidecars (meta.json, keyframe indexes): the new content goes
// to `<file>.tmp`, is synced, then replaces the file, so a reader, a crash or a full disk leaves the
// old file or the new one, never an empty or half-written one. On failure the temporary file is
// removed (a full disk must not keep a 0-byte leftover) and the error is thrown to the caller.
// It does not create directories and does not decide what a failure means.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

/** The temporary name a sidecar is written under before the rename. */
export function tempPathOf(path: string): string {
  return `${path}.tmp`;
}

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const tmp = tempPathOf(path);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      // writeSync may write less than asked (a full disk writes what fits, then fails): loop.
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * The same, off the event loop: a sync (several ms on a plain disk) must not stall every session's
 * relay while one session opens or closes its recording.
 */
export async function writeFileAtomicAsync(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = tempPathOf(path);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const h = await open(tmp, 'w', mode);
    try {
      for (let off = 0; off < bytes.length;) off += (await h.write(bytes, off, bytes.length - off)).bytesWritten;
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
