// A node restarted on its data dir right after a crash (membership.ts, last-run.ts): the store row
// of its dead predecessor still says up with a fresh heartbeat, yet the new run takes the name at
// once; a second process on the same data dir while the first runs, a record naming another node,
// a pid that still runs, a record from another host, or a row that already holds another
// incarnation are all refused as before. Real SQLite store, fake clock; the pid check is real.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LastRun, type LastRunPort, lastRunFile, mayBeRunning, readLastRun } from '../../gateway/cluster/last-run.js';
import { Membership } from '../../gateway/cluster/membership.js';
import { createLogger } from '../../gateway/log/logger.js';
import type { Store } from '../../gateway/store/store.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import { DeadlineScheduler } from '../../gateway/util/deadline-scheduler.js';
import { FakeClock } from '../support/fake-clock.js';

let dir: string;
let store: Store;
let clock: FakeClock;
const made: Membership[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'membership-restart-'));
  store = openSqliteStore(join(dir, 'state.db'));
  clock = new FakeClock();
});

afterEach(async () => {
  for (const m of made.splice(0)) await m.leave();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A port over a real file whose "is that process running" answer the test decides. */
function port(file: string, running: (r: LastRun) => boolean): LastRunPort {
  const real = lastRunFile(file);
  return { ...real, mayBeRunning: running };
}

function member(node: string, lastRun?: LastRunPort): Membership {
  const m = new Membership({
    nodes: store.nodes, clock, scheduler: new DeadlineScheduler(clock), log: createLogger('silent'), node, version: 'test',
    heartbeatMs: 1000, lostAfterMs: 6000, fenced: () => {}, lastRun,
  });
  made.push(m);
  return m;
}

/** What a kill -9 of another process leaves: its row up with a fresh heartbeat, and its record in the data dir. */
async function deadPredecessor(file: string, incarnation: string, node = 'n2'): Promise<void> {
  const now = clock.now();
  expect(await store.nodes.join({ name: node, incarnation, state: 'up', version: 'test', startedAt: now, heartbeatAt: now, endedAt: null }, now - 6000)).toBe(true);
  writeFileSync(file, JSON.stringify({ v: 1, node, incarnation, pid: 999_999, host: hostname() }));
}

describe('a node restarted right after a crash', () => {
  it('takes over its own dead predecessor at once, marking exactly that incarnation lost', async () => {
    const file = join(dir, 'node-run.json');
    const old = 'incarnation-of-the-dead-run';
    await deadPredecessor(file, old);
    clock.advance(1500); // well inside nodeLostAfter: the old row is up and fresh
    const second = member('n2', port(file, (r) => r.pid !== 999_999));
    await second.join();
    expect(second.incarnation).not.toBe(old);
    const row = await store.nodes.byName('n2');
    expect(row).toMatchObject({ state: 'up', incarnation: second.incarnation });
    expect(readLastRun(file)).toMatchObject({ node: 'n2', incarnation: second.incarnation, pid: process.pid, host: hostname() });
    // The old incarnation's heartbeat (were it somehow alive) is refused: it was fenced.
    expect(await store.nodes.heartbeat('n2', old, clock.now())).toBe(false);
  });

  it('refuses while the recorded process may still run (two processes on one data dir)', async () => {
    const file = join(dir, 'node-run.json');
    await member('n2', port(file, () => true)).join();
    clock.advance(1500);
    await expect(member('n2', port(file, () => true)).join()).rejects.toThrow('node n2 is already running');
  });

  it('refuses in this same process while a membership here holds the incarnation, even though the pid is ours', async () => {
    const file = join(dir, 'node-run.json');
    await member('n2', lastRunFile(file)).join();
    await expect(member('n2', lastRunFile(file)).join()).rejects.toThrow('is already running');
  });

  it('refuses a record of another node, a row holding another incarnation, no record, or a broken one', async () => {
    const file = join(dir, 'node-run.json');
    const dead = (): boolean => false;
    const inc = 'incarnation-of-the-dead-run';
    await deadPredecessor(file, inc);
    // A data dir whose last run was another node's name.
    writeFileSync(file, JSON.stringify({ v: 1, node: 'n3', incarnation: inc, pid: 999_999, host: hostname() }));
    await expect(member('n2', port(file, dead)).join()).rejects.toThrow('is already running');
    // The record names an incarnation the row no longer holds (someone else took the name since).
    writeFileSync(file, JSON.stringify({ v: 1, node: 'n2', incarnation: 'not-the-live-one', pid: 999_999, host: hostname() }));
    await expect(member('n2', port(file, dead)).join()).rejects.toThrow('is already running');
    writeFileSync(file, '{ not json');
    await expect(member('n2', port(file, dead)).join()).rejects.toThrow('is already running');
    await expect(member('n2').join()).rejects.toThrow('is already running');
    expect((await store.nodes.byName('n2'))?.incarnation).toBe(inc);
    expect((await store.nodes.byName('n2'))?.state).toBe('up');
  });
});

describe('whether the recorded process may still run', () => {
  const rec = (pid: number, host = hostname()): LastRun => ({ node: 'n2', incarnation: 'x', pid, host });

  it('is false only for a pid on this host that is gone, or that is this very process', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const pid = child.pid!;
    expect(mayBeRunning(rec(pid), process.pid, hostname())).toBe(true);
    await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGKILL'); });
    expect(mayBeRunning(rec(pid), process.pid, hostname())).toBe(false);
    expect(mayBeRunning(rec(pid, 'another-host'), process.pid, hostname())).toBe(true);
    expect(mayBeRunning(rec(process.pid), process.pid, hostname())).toBe(false);
    expect(mayBeRunning(rec(1), process.pid, hostname())).toBe(true);
  });
});
