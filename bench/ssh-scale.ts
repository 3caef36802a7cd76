// SSH at scale (issue 19): N concurrent SSH sessions through the built gateway to a real sshd (each
// a pty shell, recorded; most idle, BENCH_TYPING of them typing a line every 200 ms), opened K at a
// time by ssh2 clients in this process.
//   - new sessions per second: connect, both handshakes, login, shell, until its first byte of output;
//   - gateway RSS (/proc/PID/status) per session: with them open, minus at rest;
//   - expiry storm: N sessions of one grant whose end falls at one instant (`grant add --for`); time
//     from its expires_at to the last session's channel closing at the client (the client's own
//     event loop included: an upper bound).
// The gateway's login limits (logins.*Connect*) and ssh.maxPreAuth are raised so one address may
// open N sessions quickly; sshd's MaxStartups (test/harness/sshd.ts, 100) is above K.
//   npm run bench:ssh-scale       (BENCH_SESSIONS=1000, BENCH_CONCURRENCY=25, BENCH_TYPING=20)
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { type CliResult, json } from '../test/harness/gateway.js';
import { startSshFixture, type SshFixture } from '../test/harness/ssh-fixture.js';
import { cpuMeter } from './lib/proc-cpu.js';
import { median, ratioRow, runIfMain, type Row, type SuiteResult } from './lib/results.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 25);
const TYPING = Math.min(SESSIONS, Number(process.env.BENCH_TYPING ?? 20));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;

interface Open { client: ssh2.Client; ch: ssh2.ClientChannel; firstMs: number; closedAt: Promise<number>; last: () => string }

/** One session: a pty shell through the gateway, resolved at its first byte of output. */
function openSession(fx: SshFixture, key: Buffer): Promise<Open> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const client = new ssh2.Client();
    client.on('error', reject);
    client.once('ready', () => {
      client.shell({ term: 'xterm', rows: 24, cols: 80 }, (err, ch) => {
        if (err) return reject(err);
        const closedAt = new Promise<number>((r) => ch.once('close', () => r(Date.now())));
        // The last words on the channel and its exit: why it ended, when it ends before its time.
        let tail = '';
        let exit = '';
        ch.on('exit', (code: number | null, signal?: string, _core?: boolean, message?: string) => { exit = code !== null ? `exit ${code}` : `signal ${signal ?? '?'} ${message ?? ''}`; });
        client.on('error', (e: Error) => { exit ||= e.message; });
        const last = (): string => `${exit} ${tail.replace(/\s+/g, ' ').trim().slice(-120)}`;
        ch.once('data', () => resolve({ client, ch, firstMs: Number(process.hrtime.bigint() - t0) / 1e6, closedAt, last }));
        ch.on('data', (d: Buffer) => { tail = (tail + d.toString()).slice(-300); });
      });
    });
    client.connect({ host: '127.0.0.1', port: fx.gw.ports.ssh, username: 'ops+web01', privateKey: key, readyTimeout: 120_000 });
  });
}

/** N sessions, K at a time; the wall time and each one's login-to-first-byte. */
/** Why an open failed and was tried again (reported in the notes). */
const retries: string[] = [];

async function openMany(fx: SshFixture, key: Buffer, n: number): Promise<{ sessions: Open[]; seconds: number }> {
  const sessions: Open[] = [];
  const t0 = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      // A refused connection (the gateway's or sshd's start-up limits) is counted and tried again.
      for (let attempt = 1; ; attempt++) {
        try {
          sessions.push(await openSession(fx, key));
          break;
        } catch (err) {
          retries.push(err instanceof Error ? err.message : String(err));
          if (attempt === 3) throw err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  return { sessions, seconds: (Date.now() - t0) / 1000 };
}

/**
 * The admin CLI, tried again after a refused connection: right after N sessions closed, one run
 * here was reset (ECONNRESET) while the gateway finished them off.
 */
async function admin(fx: SshFixture, args: string[]): Promise<CliResult> {
  let r = fx.gw.admin(args);
  for (let i = 0; i < 3 && r.code !== 0 && /ECONNRESET|unavailable/.test(r.stderr); i++) {
    process.stderr.write(`  admin ${args.slice(0, 2).join(' ')}: ${r.stderr.trim()}; again in 2 s\n`);
    await sleep(2000);
    r = fx.gw.admin(args);
  }
  return r;
}

export async function run(): Promise<SuiteResult> {
  const fx = await startSshFixture({ PORTCULLIS_LOG_LEVEL: 'warn' });
  try {
    writeFileSync(join(fx.gw.dataDir, 'portcullis.yaml'), [
      'ssh:', `  maxPreAuth: ${Math.max(256, CONCURRENCY * 4)}`,
      // This machine's disk is nearly full: the default 1 % floor would cut sessions for recording space.
      'recordings:', '  minFreePercent: 0',
      'logins:', `  addressConnectRate: ${SESSIONS}`, `  addressConnectBurst: ${SESSIONS * 2}`, `  connectRate: ${SESSIONS}`, '',
    ].join('\n'));
    await fx.gw.restart();
    const key = readFileSync(fx.opsKey);
    const markers = join(fx.gw.dataDir, 'post-close');
    const queued = (): number => (existsSync(markers) ? readdirSync(markers).filter((f) => f.endsWith('.json')).length : 0);
    const drain = async (): Promise<void> => { while (queued() > 0) await sleep(200); };
    const grant = fx.grant('ops', 'web01', '2h');

    // At rest: after a few sessions came and went (modules loaded, pools warm).
    for (const s of (await openMany(fx, key, CONCURRENCY)).sessions) s.client.end();
    await drain();
    await sleep(3000);
    const rest = rssMiB(fx.gw.pid);

    process.stderr.write(`  opening ${SESSIONS} sessions, ${CONCURRENCY} at a time...\n`);
    const cpu = cpuMeter(fx.gw.pid);
    const opened = await openMany(fx, key, SESSIONS);
    const setupCpuMs = cpu() / 1e3 / SESSIONS;
    const typists = opened.sessions.slice(0, TYPING);
    let typed = 0;
    const typing = setInterval(() => { for (const s of typists) s.ch.write(`echo typed-${typed++}\n`); }, 200);
    await sleep(5000);
    const open = rssMiB(fx.gw.pid);
    clearInterval(typing);
    const perSessionKiB = (open - rest) * 1024 / SESSIONS;
    process.stderr.write(`  RSS ${rest.toFixed(0)} MiB at rest, ${open.toFixed(0)} MiB with ${SESSIONS} open\n`);
    for (const s of opened.sessions) s.client.end();
    await Promise.all(opened.sessions.map((s) => s.closedAt));
    await drain();

    // Expiry storm: a fresh grant long enough to open N sessions under it, all ending at its end.
    const r = await admin(fx, ['grant', 'revoke', grant, '--reason', 'bench']);
    if (r.code !== 0) throw new Error(r.stderr);
    const forS = Math.ceil(opened.seconds * 1.5) + 30;
    const storm = json<{ id: string; expires_at: string }>(await admin(fx, ['grant', 'add', '--user', 'ops', '--target', 'web01', '--for', `${forS}s`, '--reason', 'bench', '--json']));
    const expiresAt = Date.parse(storm.expires_at);
    process.stderr.write(`  expiry storm: ${SESSIONS} sessions under one grant ending in ${forS} s...\n`);
    const doomed = await openMany(fx, key, SESSIONS);
    if (Date.now() >= expiresAt) throw new Error('the grant ended before all sessions were open: raise its duration');
    const closes = await Promise.all(doomed.sessions.map((s) => s.closedAt));
    const earlyOnes = doomed.sessions.filter((_, i) => closes[i]! < expiresAt);
    const early = earlyOnes.length;
    const why = [...new Set(earlyOnes.map((s) => s.last()))].slice(0, 3);
    process.stderr.write(`  opened in ${doomed.seconds.toFixed(0)} s; ${early} closed before the end${early ? `: ${why.join(' | ')}` : ''}\n`);
    const lastCutS = (Math.max(...closes) - expiresAt) / 1000;
    const medianCutS = (median(closes) - expiresAt) / 1000;
    for (const s of doomed.sessions) s.client.end();

    const firsts = opened.sessions.map((s) => s.firstMs);
    const rows: Row[] = [
      ratioRow({ workload: `new sessions (pty shell, login to first byte), ${CONCURRENCY} at a time`, unit: 'sessions/s', values: { portcullis: SESSIONS / opened.seconds },
        cpu: { portcullis: setupCpuMs }, cpuUnit: 'ms per session' }, 'portcullis', 'portcullis'),
      { workload: 'login to first byte, median / p99 while opening', unit: 'ms', values: { median: median(firsts), p99: [...firsts].sort((a, b) => a - b)[Math.floor(firsts.length * 0.99)]! } },
      ratioRow({ workload: `gateway RSS per session, ${SESSIONS} open (${TYPING} typing)`, unit: 'MiB', values: { portcullis: perSessionKiB / 1024, 'at rest': rest, 'all open': open } },
        'portcullis', 'portcullis', 0.5, true),
      ratioRow({ workload: `expiry storm: ${SESSIONS} sessions of one grant, expires_at to the last cut`, unit: 's', values: { portcullis: lastCutS, median: medianCutS } },
        'portcullis', 'portcullis', 1, true),
    ];
    // A row's ratio is to itself where there is nothing to compare with: the bar reads on the figure.
    for (const row of rows) if (row.ratio && row.ratio.of === row.ratio.to) row.ratio.value = row.values[row.ratio.of]!;
    return {
      suite: 'ssh-scale',
      title: `SSH at scale: ${SESSIONS} concurrent pty sessions through Portcullis (recording on) to one sshd, opened ${CONCURRENCY} at a time by ssh2 clients`,
      rows,
      notes: [
        `RSS per session: (RSS with all ${SESSIONS} open, ${TYPING} typing a line every 200 ms for 5 s) − (RSS at rest after ${CONCURRENCY} sessions came and went), / ${SESSIONS}.`,
        `Expiry storm: the grant's own end (grant add --for ${forS}s), not a revoke; each session has its own end timer at that millisecond. Cut = the channel's close seen by the client.`
          + (early ? ` ${early} sessions closed before the end (failed): ${why.join(' | ')}` : ''),
        `Opens refused and tried again: ${retries.length}${retries.length ? ` (${[...new Set(retries)].slice(0, 3).join('; ')})` : ''}. recordings.minFreePercent 0 (this disk is nearly full; minFree 256 MiB stays).`,
        'Without an ephemeral account: the SSH provisioner needs a target host it may create accounts on (test/harness/ssh-provisioner-host.ts); not measured here.',
      ],
    };
  } finally {
    await fx.stop();
  }
}

runIfMain(import.meta.url, run);
