// `<data>/node-run.json`: which incarnation of this node the last `serve` on this data dir took,
// and its process id and host. A node restarted right after a crash (systemd, a container restart)
// finds its own dead predecessor still `up` in the store for up to `cluster.nodeLostAfter`; with
// this file membership.ts can tell "my dead predecessor" from "another live process with my name"
// and take the name at once instead of being refused until a peer marks the old one lost.
// Nothing here is a secret; the file is only trusted for the incarnation it names, and only while
// the store row still holds that very incarnation.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { writeFileAtomic } from '../../recorder/atomic-file.js';

export interface LastRun {
  node: string;
  incarnation: string;
  pid: number;
  /** The host the process ran on: a pid means nothing on another host (or in another container sharing the volume). */
  host: string;
}

/** What membership needs: read and write the record, and whether the process it names may still run. */
export interface LastRunPort {
  read(): LastRun | null;
  write(run: Omit<LastRun, 'pid' | 'host'>): void;
  /** True unless that process is certainly gone: false only for this host's pid that no longer exists (or is this very process). */
  mayBeRunning(run: LastRun): boolean;
}

export function lastRunFile(file: string): LastRunPort {
  return {
    read: () => readLastRun(file),
    write: (r) => writeFileAtomic(file, JSON.stringify({ v: 1, ...r, pid: process.pid, host: hostname() }, null, 2) + '\n', 0o600),
    mayBeRunning: (r) => mayBeRunning(r, process.pid, hostname()),
  };
}

/** A missing, unreadable or malformed file is no record: the node then waits as before (fails closed). */
export function readLastRun(file: string): LastRun | null {
  try {
    if (!existsSync(file)) return null;
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<LastRun> & { v?: unknown } | null;
    if (!raw || raw.v !== 1 || typeof raw.node !== 'string' || typeof raw.incarnation !== 'string' || typeof raw.host !== 'string') return null;
    if (typeof raw.pid !== 'number' || !Number.isInteger(raw.pid) || raw.pid <= 0) return null;
    return { node: raw.node, incarnation: raw.incarnation, pid: raw.pid, host: raw.host };
  } catch {
    return null;
  }
}

export function mayBeRunning(r: LastRun, selfPid: number, selfHost: string): boolean {
  if (r.host !== selfHost) return true;
  // A restarted container often gets the same pid again: that process is this one, not the old one.
  if (r.pid === selfPid) return false;
  try {
    process.kill(r.pid, 0);
    return true; // exists (perhaps another program by now: then we wait for nodeLostAfter, as before)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: it exists, not ours to signal
  }
}
