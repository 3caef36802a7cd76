// Recording storage on a small volume: a 20 MiB tmpfs mounted on the gateway's recordings folder,
// filled by real sessions through the built gateway (OpenSSH with a pty, psql, mariadb → real sshd,
// PostgreSQL 15, MariaDB). A session over its byte budget ends with `recording-budget`; when the
// volume falls below its watermark, live recorded sessions end with `recording-failed` and a
// message, new logins on every protocol are refused in protocol words, one webhook alert goes out
// per crossing; no recording file is left empty, torn or unparsable; when space returns, logins
// work again. Skips (saying why) only where mounting is not permitted.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent, parseHeader } from '../../recorder/asciicast-reader.js';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';
import { readRecordingMeta } from '../../recorder/meta.js';
import { requireBinary, runOk, tempDir, waitFor } from '../harness/common.js';
import { type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { type MariadbPeer, startMariadb } from '../harness/mariadb.js';
import { PipedClient } from '../harness/piped-client.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';
import { type SshdPeer, startSshd } from '../harness/sshd.js';
import { THREE_TARGETS, provisionThreeTargets } from '../harness/three-targets.js';

const OPS_PASSWORD = THREE_TARGETS.opsPassword;
const VOLUME_MIB = 20;
const BUDGET = 3 * 2 ** 20;
const MIN_FREE = 5 * 2 ** 20;

/** Whether this machine lets us mount a tmpfs (root in a container that allows it). */
function canMount(): string | null {
  const probe = tempDir('mountprobe');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `mount -t tmpfs is not permitted here (${(r.stderr || r.error?.message || '').trim()})`;
  spawnSync('umount', [probe]);
  return null;
}
const noMount = canMount();

let gw: GatewayPeer;
let sshd: SshdPeer;
let pg: PostgresPeer;
let my: MariadbPeer;
let opsKey: string;
let hooks: Server;
const alerts: Array<{ event: string; text: string }> = [];
let recordings = '';

beforeAll(async () => {
  // A missing capability fails, as a missing peer does: the storage figures are part of the contract.
  if (noMount) throw new Error(`recordings-storage needs a tmpfs mount (run the tests as root where mount is allowed): ${noMount}`);
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => { alerts.push(JSON.parse(body) as { event: string; text: string }); res.end('ok'); });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  const cfgDir = tempDir('storagecfg');
  const config = join(cfgDir, 'portcullis.yaml');
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
  runOk('sh', ['-c', `cat > ${config} <<'EOF'
recordings:
  sessionBudget: ${BUDGET}
  minFree: ${MIN_FREE}
  minFreePercent: 0
webhooks:
  - url: ${hookUrl}
    events: [recordings.space_low, recordings.space_restored]
EOF`]);
  [gw, sshd, pg, my] = await Promise.all([
    startGateway({
      config,
      prepare: (data) => {
        recordings = recordingsRoot(data);
        mkdirSync(recordings, { recursive: true, mode: 0o700 });
        runOk('mount', ['-t', 'tmpfs', '-o', `size=${VOLUME_MIB}m,mode=0700`, 'tmpfs', recordings]);
      },
      cleanup: () => { spawnSync('umount', ['-l', recordings]); },
    }),
    startSshd(), startPostgres(), startMariadb(),
  ]);
  opsKey = provisionThreeTargets({ gw, sshd, pg, my }, tempDir('storagefx'), { for: '30m', reason: 'storage test' });
}, 180_000);

afterAll(async () => {
  await Promise.all([gw?.stop(), sshd?.stop(), pg?.stop(), my?.stop()]);
  if (recordings && !gw) spawnSync('umount', ['-l', recordings]);
  await new Promise<void>((r) => (hooks ? hooks.close(() => r()) : r()));
});

interface SessionRow { id: string; protocol: string; ended_at: string | null; end_reason: string | null }
const sessions = (): SessionRow[] => json<SessionRow[]>(gw.admin(['session', 'list', '--json']));

/** A client run to its end without blocking this process (the webhook receiver lives here). */
function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ status: code ?? -1, out }); });
  });
}

const ssh = (command: string): Promise<{ status: number; out: string }> => runClient(requireBinary('openssh-client', 'ssh'), [
  '-tt', '-p', String(gw.ports.ssh), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
  '-o', 'BatchMode=yes', '-i', opsKey, 'ops+web01@127.0.0.1', command,
]);
const psqlArgs = (): string[] => ['-X', '-A', '-t', `host=127.0.0.1 port=${gw.ports.postgres} user=ops+orders-db dbname=orders sslmode=require connect_timeout=10`];
const mariadbArgs = (): string[] => [
  '--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql), '-u', 'ops+shop-db', `-p${OPS_PASSWORD}`, '--ssl', '--batch', '--skip-reconnect',
];
const psql = (sql: string): Promise<{ status: number; out: string }> =>
  runClient(requireBinary('postgresql-client-15', 'psql'), [...psqlArgs(), '-c', sql], { PGPASSWORD: OPS_PASSWORD });
const mariadb = (sql: string): Promise<{ status: number; out: string }> =>
  runClient(requireBinary('mariadb-client', 'mariadb'), [...mariadbArgs(), '-e', sql]);

function freeBytes(): number {
  const s = spawnSync('df', ['-B1', '--output=avail', recordings], { encoding: 'utf8' });
  return Number(s.stdout.trim().split('\n').pop());
}

/**
 * Every file on the volume is whole: meta.json parses and names its session, each cast is a
 * header plus events that all parse (no torn last line), each NDJSON line parses, keyframe sidecars
 * parse, nothing is empty and no temporary file is left.
 */
function checkVolume(): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const id of readdirSync(recordings)) {
    const dir = join(recordings, id);
    if (!statSync(dir).isDirectory()) continue; // another process's file on the volume
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const text = readFileSync(path, 'utf8');
      files++;
      bytes += statSync(path).size;
      expect(name, path).not.toMatch(/\.tmp$/);
      if (name.startsWith('exec-')) continue;
      expect(text.length, `${path} is empty`).toBeGreaterThan(0);
      if (name === 'meta.json' || name.endsWith('.keyframes.json')) { expect(() => JSON.parse(text) as unknown, path).not.toThrow(); continue; }
      expect(text.endsWith('\n'), `${path} ends in a torn line`).toBe(true);
      const lines = text.split('\n').filter(Boolean);
      if (name.endsWith('.cast')) {
        expect(parseHeader(lines[0]!).version, path).toBe(2);
        for (const l of lines.slice(1)) expect(parseEvent(l), `${path}: ${l.slice(0, 80)}`).not.toBeNull();
      } else {
        for (const l of lines) expect(() => JSON.parse(l) as unknown, `${path}: ${l.slice(0, 80)}`).not.toThrow();
      }
    }
    expect(readRecordingMeta(join(dir, 'meta.json'))?.session, dir).toBe(id);
  }
  return { files, bytes };
}

describe('recordings on a 20 MiB volume', () => {
  it('ends an SSH session whose recording reaches its byte budget with recording-budget, the recording whole and about the budget in size', async () => {
    const started = Date.now();
    const r = await ssh('yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 8000000; echo; echo never-reached-budget');
    const seconds = (Date.now() - started) / 1000;
    expect(r.out).toContain('byte budget');
    expect(r.out).not.toContain('never-reached-budget');
    await waitFor('the budget session booked', () => sessions().some((s) => s.end_reason === 'recording-budget'), 15_000);
    const row = sessions().find((s) => s.end_reason === 'recording-budget')!;
    const layout = RecordingLayout.of(recordings, row.id);
    await waitFor('its meta.json end', () => readRecordingMeta(layout.meta)?.end_reason === 'recording-budget', 15_000);
    const size = readdirSync(layout.dir).filter((f) => !f.endsWith('.keyframes.json')).reduce((n, f) => n + statSync(join(layout.dir, f)).size, 0);
    const events = readFileSync(layout.events, 'utf8');
    expect(events).toContain('"kind":"recording-stopped"');
    expect(readFileSync(layout.cast(1), 'utf8')).toContain('recording stopped: byte budget');
    // The write that reached the budget is kept whole (it was already on its way to the client),
    // so the recording is the budget plus at most one relay chunk and the closing lines.
    expect(size).toBeGreaterThanOrEqual(BUDGET);
    expect(size).toBeLessThan(BUDGET + 512 * 1024);
    console.log(`[storage] budget ${BUDGET} B: session cut after ${seconds.toFixed(1)} s with ${size} B on disk (+${size - BUDGET} B over)`);
    checkVolume();
  }, 60_000);

  it('below the watermark: ends live recorded sessions with a message, refuses every protocol, alerts once, leaves every file whole; with space back logins work', async () => {
    // Live sessions on all three protocols, each with something recorded already.
    const livePsql = new PipedClient(requireBinary('postgresql-client-15', 'psql'), psqlArgs(), { PGPASSWORD: OPS_PASSWORD });
    const liveMy = new PipedClient(requireBinary('mariadb-client', 'mariadb'), [...mariadbArgs(), '--unbuffered']);
    livePsql.type("select 'pg-before-' || (40 + 2) as marker;");
    await livePsql.waitFor(/^pg-before-42$/m);
    liveMy.type("select concat('my-before-', 40 + 2) as marker;");
    await liveMy.waitFor(/my-before-42/);
    const liveSsh = ssh('echo live-ssh-ready; while :; do echo "tick-$(date +%s%N)"; sleep 0.05; done');

    // Fill the volume with SSH sessions that each stay under the budget, until it crosses the mark.
    const fillStart = Date.now();
    let fillers = 0;
    while (freeBytes() >= MIN_FREE && fillers < 12) {
      const f = await ssh('yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 2000000; echo filler-done');
      fillers++;
      if (!f.out.includes('filler-done')) break;
    }
    expect(freeBytes()).toBeLessThan(MIN_FREE);
    await waitFor('the live sessions to be cut', () => sessions().filter((s) => s.end_reason === 'recording-failed').length >= 3, 10_000);
    const cutMs = Date.now() - fillStart;
    const ssh1 = await liveSsh;
    // The database clients sit idle at their prompt: they read the gateway's goodbye with the next statement.
    livePsql.type("select 'pg-after-cut';");
    liveMy.type("select 'my-after-cut';");
    void livePsql.end();
    void liveMy.end();
    const pgStatus = await livePsql.exited;
    const myStatus = await liveMy.exited;
    expect(ssh1.out).toContain('live-ssh-ready');
    expect(ssh1.out).toMatch(/almost full/);
    expect(livePsql.output).toMatch(/almost full/);
    expect(liveMy.output).toMatch(/almost full/);
    expect(pgStatus).not.toBe(0);
    expect(myStatus).not.toBe(0);
    // The three live ones, and the filler that was writing when the volume crossed the mark.
    const cut = sessions().filter((s) => s.end_reason === 'recording-failed').map((s) => s.protocol);
    expect([...new Set(cut)].sort()).toEqual(['mysql', 'postgres', 'ssh']);

    // New logins on every protocol: refused with a message that says why, in protocol words.
    const refusedSsh = await ssh('echo should-not-run');
    expect(refusedSsh.status).not.toBe(0);
    expect(refusedSsh.out).not.toContain('should-not-run');
    expect(refusedSsh.out).toMatch(/recordings volume is almost full/);
    const refusedPg = await psql('select 1');
    expect(refusedPg.status).not.toBe(0);
    expect(refusedPg.out).toMatch(/recordings volume is almost full/);
    const refusedMy = await mariadb('select 1');
    expect(refusedMy.status).not.toBe(0);
    expect(refusedMy.out).toMatch(/ERROR 1021.*recordings volume is almost full/);
    // One alert for the crossing, not one per refused login.
    await waitFor('the low-space webhook', () => alerts.some((a) => a.event === 'recordings.space_low'), 10_000);
    expect(alerts.filter((a) => a.event === 'recordings.space_low'), JSON.stringify(alerts)).toHaveLength(1);
    // The statements recorded before are still there, whole.
    const stmts = sessions().filter((s) => s.protocol !== 'ssh' && s.end_reason === 'recording-failed')
      .map((s) => readFileSync(RecordingLayout.of(recordings, s.id).statements, 'utf8')).join('');
    expect(stmts).toContain('pg-before-');
    expect(stmts).toContain('my-before-');
    const { files, bytes } = checkVolume();
    console.log(`[storage] ${VOLUME_MIB} MiB volume, watermark ${MIN_FREE} B: ${fillers} filler sessions; live ssh/psql/mariadb cut ${cutMs} ms after filling began; `
      + `${files} files (${bytes} B) on the volume, all whole; ${freeBytes()} B free at the end`);

    // An admin frees space (removes the largest filler recordings): logins work again.
    const fillerIds = sessions().filter((s) => s.protocol === 'ssh' && s.end_reason === 'closed-by-client').map((s) => s.id);
    const freedAt = Date.now();
    for (const id of fillerIds.slice(0, 4)) rmSync(join(recordings, id), { recursive: true, force: true });
    await waitFor('the restored webhook', () => alerts.some((a) => a.event === 'recordings.space_restored'), 10_000);
    const restoredMs = Date.now() - freedAt;
    const ok = await ssh('echo back-$((40+2))');
    expect(ok.out).toContain('back-42');
    expect((await psql("select 'pg-back-' || 42")).out).toContain('pg-back-42');
    expect((await mariadb("select concat('my-back-', 42)")).out).toContain('my-back-42');
    console.log(`[storage] space freed: logins accepted again ${restoredMs} ms later`);
    expect(existsSync(recordings)).toBe(true);
  }, 180_000);

  it('when another process fills the volume to the last byte: live sessions end recording-failed, every file stays whole, logins come back', async () => {
    // Room for the live sessions first: the recordings of earlier tests go.
    for (const s of sessions().filter((x) => x.protocol === 'ssh' && x.end_reason !== null)) rmSync(join(recordings, s.id), { recursive: true, force: true });
    await waitFor('logins to be accepted', async () => (await psql("select 'pg-room'")).out.includes('pg-room'), 15_000);
    const liveSsh = ssh('echo live-ssh-ready; while :; do echo "tick-$(date +%s%N)"; sleep 0.02; done');
    const livePsql = new PipedClient(requireBinary('postgresql-client-15', 'psql'), psqlArgs(), { PGPASSWORD: OPS_PASSWORD });
    livePsql.type("select 'pg-before-full-' || (40 + 2) as marker;");
    await livePsql.waitFor(/^pg-before-full-42$/m);
    const endedBefore = sessions().filter((s) => s.end_reason === 'recording-failed').length;
    await waitFor('the live SSH session', () => sessions().filter((s) => s.end_reason === null).length === 2, 10_000);
    // Not the gateway: a process that writes to the same volume until the kernel says ENOSPC.
    const filler = join(recordings, 'external-filler');
    const filledAt = Date.now();
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { encoding: 'utf8' });
    expect(freeBytes()).toBeLessThan(64 * 1024);
    await waitFor('both live sessions to end recording-failed', () => sessions().filter((s) => s.end_reason === 'recording-failed').length >= endedBefore + 2, 10_000);
    const cutMs = Date.now() - filledAt;
    const out = (await liveSsh).out;
    expect(out).toContain('live-ssh-ready');
    // NOT yet: on this path (a write failed with ENOSPC before the watermark check saw the volume
    // low) OpenSSH shows an empty disconnect instead of the reason; psql gets it. The session is
    // booked recording-failed (waited for above) and its files are whole (checked below).
    livePsql.type("select 'pg-after-full';");
    void livePsql.end();
    expect(await livePsql.exited).not.toBe(0);
    expect(livePsql.output).toMatch(/almost full|could not be recorded/);
    expect(livePsql.output).not.toContain('pg-after-full\n');
    const { files } = checkVolume();
    const refused = await psql('select 1');
    expect(refused.out).toMatch(/recordings volume is almost full/);
    console.log(`[storage] volume filled to the last byte by another process: live ssh/psql cut within ${cutMs} ms (booked), ${files} files all whole`);
    rmSync(filler);
    await waitFor('logins to work again', async () => (await psql("select 'pg-back-again'")).out.includes('pg-back-again'), 15_000);
  }, 120_000);
});
