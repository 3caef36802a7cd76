// SSH benchmark: the real OpenSSH client (its default cipher) against the real sshd directly,
// through the leanest ssh2 relay (bench/lib/ssh-bare-relay.ts: the ceiling for an SSH relay in
// JavaScript, which must decrypt and encrypt every byte once more) and through Portcullis with
// recording on, in one run. CPU seconds per GB of each relay process from /proc next to the bulk
// figures. Also a pty flood, setup time (login to the first byte of output), keystroke echo.
//   npm run bench:ssh            (BENCH_BULK_MB=1000 by default)
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { freePort, portOpen, requireBinary, runOk, startProc, tempDir, waitFor, type Proc } from '../test/harness/common.js';
import { startSshFixture } from '../test/harness/ssh-fixture.js';
import { cpuMeter, idleMeter } from './lib/proc-cpu.js';
import { median, ratioRow, runIfMain, type Row, type SuiteResult, percents } from './lib/results.js';

const BULK_MB = Number(process.env.BENCH_BULK_MB ?? 1000);
const SETUPS = 20;
const ECHOES = 300;
const COMMON = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];

interface Path { port: number; user: string; key: string; pid: number }

/** One OpenSSH client run: time to its first byte of output and to its exit, bytes received. */
function timeSsh(path: Path, extra: string[], command: string): Promise<{ firstMs: number; ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('ssh', [...extra, '-p', String(path.port), '-i', path.key, ...COMMON, `${path.user}@127.0.0.1`, command], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    let firstMs = Number.NaN;
    child.stdout.on('data', (d: Buffer) => {
      if (bytes === 0) firstMs = Number(process.hrtime.bigint() - t0) / 1e6;
      bytes += d.length;
    });
    child.on('close', (code) => code === 0 ? resolve({ firstMs, ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes }) : reject(new Error(`ssh exited ${code}`)));
  });
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** Keystroke echo: a pty running `cat`; time from sending a line to seeing it come back. */
async function echoRtt(path: Path): Promise<number[]> {
  const c = await new Promise<ssh2.Client>((resolve, reject) => {
    const cl = new ssh2.Client();
    cl.once('ready', () => resolve(cl)).once('error', reject);
    cl.connect({ host: '127.0.0.1', port: path.port, username: path.user, privateKey: readFileSync(path.key) });
  });
  const ch = await new Promise<ssh2.ClientChannel>((res, rej) => c.shell({ term: 'xterm', rows: 24, cols: 80 }, (e, s) => (e ? rej(e) : res(s))));
  let buf = '';
  let waiter: (() => void) | null = null;
  ch.on('data', (d: Buffer) => { buf += d.toString(); waiter?.(); });
  const seen = (s: string): Promise<void> => new Promise((r) => { const check = (): void => { if (buf.includes(s)) { waiter = null; r(); } }; waiter = check; check(); });
  ch.write('stty -echo; cat\n');
  await new Promise((r) => setTimeout(r, 500));
  const out: number[] = [];
  for (let i = 0; i < ECHOES; i++) {
    buf = '';
    const t0 = process.hrtime.bigint();
    ch.write(`k${i}\n`);
    await seen(`k${i}`);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  c.end();
  return out;
}

export async function run(): Promise<SuiteResult> {
  const keygen = requireBinary('openssh-client', 'ssh-keygen');
  const procs: Proc[] = [];
  const fx = await startSshFixture({ PORTCULLIS_LOG_LEVEL: 'warn' });
  try {
    fx.grant('ops', 'web01', '2h');
    const dir = tempDir('ssh-relay');
    const hostKey = join(dir, 'host_ed25519');
    runOk(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const rport = await freePort();
    const relay = startProc(process.execPath, [join(import.meta.dirname, 'lib/ssh-bare-relay.js'), String(rport), hostKey, `${fx.opsKey}.pub`,
      String(fx.sshd.port), fx.sshd.user, fx.sshd.clientKeyFile]);
    procs.push(relay);
    await waitFor('ssh bare relay', () => portOpen(rport), 15_000, relay);

    const paths: Record<string, Path> = {
      direct: { port: fx.sshd.port, user: fx.sshd.user, key: fx.sshd.clientKeyFile, pid: 0 },
      'ssh2 relay': { port: rport, user: fx.sshd.user, key: fx.opsKey, pid: relay.child.pid ?? 0 },
      portcullis: { port: fx.gw.ports.ssh, user: 'ops+web01', key: fx.opsKey, pid: fx.gw.pid },
    };
    const markers = join(fx.gw.dataDir, 'post-close');
    const drained = async (): Promise<void> => {
      const queued = (): number => (existsSync(markers) ? readdirSync(markers).filter((f) => f.endsWith('.json')).length : 0);
      await waitFor('post-close queue to drain', () => queued() === 0, 120_000);
    };
    const idle: number[] = [];
    type Fig = { value: number; cpu: number };
    const figures: Record<string, Record<string, Fig>> = { bulk: {}, flood: {}, setup: {}, p50: {}, p99: {} };
    for (const [name, path] of Object.entries(paths)) {
      process.stderr.write(`  ${name}...\n`);
      await timeSsh(path, [], 'true');
      // The warm-up session's post-close work (a keyframe worker) is not the bulk's.
      if (path.pid === fx.gw.pid) await drained();
      const machineIdle = idleMeter();
      let cpu = path.pid ? cpuMeter(path.pid) : null;
      const bulk = await timeSsh(path, [], `head -c ${BULK_MB * 1_000_000} /dev/zero`);
      if (bulk.bytes !== BULK_MB * 1_000_000) throw new Error(`${name}: ${bulk.bytes} bytes of ${BULK_MB * 1_000_000}`);
      figures.bulk![name] = { value: bulk.bytes / 1e6 / (bulk.ms / 1000), cpu: cpu ? cpu() / 1e6 / (bulk.bytes / 1e9) : Number.NaN };
      idle.push(machineIdle());
      if (path.pid === fx.gw.pid) await drained();
      cpu = path.pid ? cpuMeter(path.pid) : null;
      const flood = await timeSsh(path, ['-tt'], 'seq 1 3000000');
      figures.flood![name] = { value: flood.bytes / 1e6 / (flood.ms / 1000), cpu: cpu ? cpu() / 1e6 / (flood.bytes / 1e9) : Number.NaN };
      // The flood's recording is finished off the relay path (post-close pool): not setup's CPU.
      await drained();
      const setups: number[] = [];
      cpu = path.pid ? cpuMeter(path.pid) : null;
      for (let i = 0; i < SETUPS; i++) setups.push((await timeSsh(path, [], 'echo ready')).firstMs);
      // A session's whole cost: its close and post-close work (keyframes) included.
      if (path.pid === fx.gw.pid) await drained();
      figures.setup![name] = { value: median(setups), cpu: cpu ? cpu() / 1e3 / SETUPS : Number.NaN };
      const rtt = await echoRtt(path);
      figures.p50![name] = { value: pct(rtt, 0.5), cpu: Number.NaN };
      figures.p99![name] = { value: pct(rtt, 0.99), cpu: Number.NaN };
    }
    const row = (workload: string, f: Record<string, Fig>, unit: string, cpuUnit?: string): Omit<Row, 'ratio'> => ({
      workload, unit,
      values: Object.fromEntries(Object.entries(f).map(([p, v]) => [p, v.value])),
      ...(cpuUnit ? { cpu: Object.fromEntries(Object.entries(f).filter(([, v]) => Number.isFinite(v.cpu)).map(([p, v]) => [p, v.cpu])), cpuUnit } : {}),
    });
    const rows: Row[] = [
      ratioRow(row(`bulk download, no pty (head -c ${BULK_MB} MB /dev/zero)`, figures.bulk!, 'MB/s', 's per GB'), 'portcullis', 'direct', 0.65),
      ratioRow(row('bulk: the ssh2 relay (ceiling) vs direct', { direct: figures.bulk!.direct!, 'ssh2 relay': figures.bulk!['ssh2 relay']! }, 'MB/s'), 'ssh2 relay', 'direct'),
      ratioRow(row('pty flood (ssh -tt seq 1 3000000)', figures.flood!, 'MB/s', 's per GB'), 'portcullis', 'direct'),
      ratioRow(row(`setup: login to first byte (ssh host echo ready), median of ${SETUPS}`, figures.setup!, 'ms', 'ms per session'), 'portcullis', 'direct', undefined, true),
      ratioRow(row(`keystroke echo p50 (pty cat, ${ECHOES} lines)`, figures.p50!, 'ms'), 'portcullis', 'direct', undefined, true),
      ratioRow(row('keystroke echo p99', figures.p99!, 'ms'), 'portcullis', 'direct', undefined, true),
    ];
    return {
      suite: 'ssh',
      title: `SSH: OpenSSH client (default cipher) to OpenSSH sshd, direct, through a bare ssh2 relay and through Portcullis (recording on), loopback`,
      rows,
      notes: [
        'ssh2 relay: bench/lib/ssh-bare-relay.ts, an ssh2 server that pipes each channel to the same exec on sshd through an ssh2 client, nothing else. The ceiling for an SSH relay in JavaScript.',
        'CPU is of the relay process alone (utime + stime from /proc); sshd and the clients are not counted. Setup CPU is the relay\'s ms per session, connect to close: both handshakes, auth, the channel and, for Portcullis, the books and the post-close pool\'s work on its recording (a keyframe worker thread per recording).',
        `machine idle during the bulk runs: ${percents(idle)}`,
      ],
    };
  } finally {
    for (const p of procs) await p.stop();
    await fx.stop();
  }
}

runIfMain(import.meta.url, run);
