// SSH benchmark: the same real OpenSSH client against the real sshd directly and through Portcullis
// (recording on), in one run, printed as ratios. Not a test: nothing here asserts.
//   npm run bench:ssh            (BENCH_BULK_MB=1000 by default)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { startSshFixture } from '../test/harness/ssh-fixture.js';

const BULK_MB = Number(process.env.BENCH_BULK_MB ?? 1000);
const fx = await startSshFixture();
fx.grant('ops', 'web01', '2h');
const common = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
const paths = {
  direct: { args: ['-p', String(fx.sshd.port), '-i', fx.sshd.clientKeyFile, ...common, `${fx.sshd.user}@127.0.0.1`], port: fx.sshd.port, user: fx.sshd.user, key: fx.sshd.clientKeyFile },
  gateway: { args: ['-p', String(fx.gw.ports.ssh), '-i', fx.opsKey, ...common, 'ops+web01@127.0.0.1'], port: fx.gw.ports.ssh, user: 'ops+web01', key: fx.opsKey },
};
type Path = keyof typeof paths;

function timeSsh(path: Path, extra: string[], command: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('ssh', [...extra, ...paths[path].args, command], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.on('data', (d: Buffer) => { bytes += d.length; });
    child.on('close', (code) => code === 0 ? resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes }) : reject(new Error(`ssh exited ${code}`)));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

function connectLib(path: Path): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: paths[path].port, username: paths[path].user, privateKey: readFileSync(paths[path].key) });
  });
}

/** Keystroke echo: a pty running `cat`; time from sending a byte to seeing it come back. */
async function echoRtt(path: Path, n = 300): Promise<number[]> {
  const c = await connectLib(path);
  const ch = await new Promise<ssh2.ClientChannel>((res, rej) => c.shell({ term: 'xterm', rows: 24, cols: 80 }, (e, s) => (e ? rej(e) : res(s))));
  let buf = '';
  let waiter: (() => void) | null = null;
  ch.on('data', (d: Buffer) => { buf += d.toString(); waiter?.(); });
  const waitFor = (s: string): Promise<void> => new Promise((r) => { const check = (): void => { if (buf.includes(s)) { waiter = null; r(); } }; waiter = check; check(); });
  ch.write('stty -echo; cat\n');
  await new Promise((r) => setTimeout(r, 500));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    buf = '';
    const t0 = process.hrtime.bigint();
    ch.write(`k${i}\n`);
    await waitFor(`k${i}`);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  c.end();
  return out;
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

const results: Record<string, Record<Path, number>> = {};
const record = (name: string, path: Path, v: number): void => { (results[name] ??= {} as Record<Path, number>)[path] = v; };

for (const path of ['direct', 'gateway'] as Path[]) {
  await timeSsh(path, [], 'true');
  const bulk = await timeSsh(path, [], `head -c ${BULK_MB * 1_000_000} /dev/zero`);
  record(`bulk MB/s (${BULK_MB} MB, no pty)`, path, bulk.bytes / 1e6 / (bulk.ms / 1000));
  const flood = await timeSsh(path, ['-tt'], 'seq 1 3000000');
  record('pty flood MB/s (seq 1 3000000)', path, flood.bytes / 1e6 / (flood.ms / 1000));
  const setups: number[] = [];
  for (let i = 0; i < 20; i++) setups.push((await timeSsh(path, [], 'true')).ms);
  record('setup ms (median of 20 ssh true)', path, median(setups));
  const rtt = await echoRtt(path);
  record('echo p50 ms', path, pct(rtt, 0.5));
  record('echo p99 ms', path, pct(rtt, 0.99));
}

const servePid = (JSON.parse(readFileSync(`${fx.gw.dataDir}/serve.json`, 'utf8')) as { pid: number }).pid;
const before = rssKb(servePid);
const idle: ssh2.Client[] = [];
for (let i = 0; i < 200; i++) {
  const c = await connectLib('gateway');
  await new Promise<void>((res, rej) => c.shell({ term: 'xterm', rows: 24, cols: 80 }, (e) => (e ? rej(e) : res())));
  idle.push(c);
}
await new Promise((r) => setTimeout(r, 2000));
const after = rssKb(servePid);
for (const c of idle) c.end();

console.log('\nPortcullis SSH benchmark (2-core machine, loopback, recording on)\n');
console.log('metric'.padEnd(40), 'direct'.padStart(10), 'gateway'.padStart(10), 'ratio'.padStart(8));
for (const [name, v] of Object.entries(results)) {
  console.log(name.padEnd(40), v.direct.toFixed(2).padStart(10), v.gateway.toFixed(2).padStart(10), (v.gateway / v.direct).toFixed(2).padStart(8));
}
console.log(`\necho added p99: ${(results['echo p99 ms']!.gateway - results['echo p99 ms']!.direct).toFixed(2)} ms`);
console.log(`gateway RSS: ${(before / 1024).toFixed(1)} MiB idle -> ${(after / 1024).toFixed(1)} MiB with 200 idle shells: ${((after - before) / 200).toFixed(0)} KiB per session`);
await fx.stop();
process.exit(0);
