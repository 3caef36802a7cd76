// Do bogus logins stall live sessions? (issue 14, item 5.) A real gateway, a real OpenSSH `ssh -tt`
// session through it to the harness sshd running `cat` on a pty, and keystroke echo latency (one
// byte typed, the pty's echo back at the client) measured without and then with a flood of bogus
// MySQL caching_sha2 logins over TLS from another process (raw handshake client,
// test/harness/login-flood-proc.ts): by default 500 a second from one address, then, to get past
// the per-address limits to the hashing itself, the same rate spread over 250 loopback addresses.
// A control phase sends the same flood to a dummy server in another process that answers every
// connection with a MySQL error at once: what the flood costs the machine (2 shared cores) without
// the gateway doing anything. Prints p50/p99 of each phase and the deltas; the bar is p99 moving
// less than 5 ms.
//   npm run bench:login-stall   (BENCH_RATE=500 BENCH_KEYS=400 BENCH_SOURCES=250)
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { errPacket } from '../gateway/mysql/wire/packets.js';
import { requireBinary } from '../test/harness/common.js';
import { type FloodResult, startFlood } from '../test/harness/login-flood.js';
import { startSshFixture } from '../test/harness/ssh-fixture.js';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const KEYS = Number(process.env.BENCH_KEYS ?? 400);
const SOURCES = Number(process.env.BENCH_SOURCES ?? 250);
/** Pause between keystrokes: a fast typist. */
const GAP_MS = 25;

// The gateway logs at info, as in production (the harness default, debug, writes a line per refusal).
const fx = await startSshFixture({ PORTCULLIS_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' });
fx.grant('ops', 'web01', '2h');

/** An interactive session: `cat` on the remote pty echoes every byte typed. */
function openSession(): { key(c: string): Promise<number>; close(): void } {
  const ssh = requireBinary('openssh-client', 'ssh');
  const child = spawn(ssh, ['-tt', ...fx.sshOpts(['-i', fx.opsKey, '-o', 'BatchMode=yes']), 'ops+web01@127.0.0.1', 'cat > /dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let pending: { c: string; t0: number; resolve: (ms: number) => void } | null = null;
  child.stdout.on('data', (d: Buffer) => {
    if (pending && d.toString('latin1').includes(pending.c)) {
      const p = pending;
      pending = null;
      p.resolve(performance.now() - p.t0);
    }
  });
  return {
    key: (c) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 10 s')), 10_000);
      pending = { c, t0: performance.now(), resolve: (ms) => { clearTimeout(timer); resolve(ms); } };
      child.stdin.write(c);
    }),
    close: () => { child.stdin.write('\x04'); child.kill(); },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function typeKeys(s: ReturnType<typeof openSession>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    // Letters only, a newline now and then so `cat` never holds a long line.
    out.push(await s.key(i % 60 === 59 ? '\r' : String.fromCharCode(97 + (i % 26))));
    await sleep(GAP_MS);
  }
  return out;
}

const show = (name: string, xs: number[]): string => `${name.padEnd(34)} p50 ${pct(xs, 50).toFixed(2).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(2).padStart(7)} ms   (${xs.length} keys)`;

try {
  const session = openSession();
  await sleep(2000);
  await typeKeys(session, 40); // warm-up
  const load0 = loadavg()[0]!.toFixed(1);
  const quiet = await typeKeys(session, KEYS);

  const loop = async (): Promise<string> => (await fetchMetrics()).split('\n').filter((l) => l.startsWith('portcullis_event_loop_delay')).map((l) => l.replace('portcullis_event_loop_delay_', '')).join(', ');
  await loop();
  const quietLoop = await typeKeys(session, 40).then(loop);
  const phase = async (sources: number, port = fx.gw.ports.mysql): Promise<{ keys: number[]; flood: FloodResult; loop: string }> => {
    const flood = startFlood({ mysqlPort: port, rate: RATE, seconds: 600, sources });
    await sleep(1500); // let the flood reach its rate (and the locks their state)
    await loop();
    const keys = await typeKeys(session, KEYS);
    const during = await loop();
    flood.stop();
    const result = await flood.result;
    await sleep(3000);
    return { keys, flood: result, loop: during };
  };
  const dummy = await dummyServer();
  const control = await phase(0, dummy.port);
  dummy.stop();
  const one = await phase(0);
  const many = await phase(SOURCES);
  session.close();
  const load1 = loadavg()[0]!.toFixed(1);

  console.log(`login-stall: ${RATE} bogus MySQL logins/s (TLS + caching_sha2 full auth), keystroke echo through ssh -tt -> gateway -> sshd (cat on a pty)`);
  console.log(`load average ${load0} before, ${load1} after, on ${(await import('node:os')).cpus().length} cores`);
  console.log(show('no flood', quiet));
  console.log(show('flood to a dummy server (control)', control.keys));
  console.log(show('flood from one address', one.keys));
  console.log(show(`flood from ${SOURCES} addresses`, many.keys));
  const d = (xs: number[]): string => `p50 ${(pct(xs, 50) - pct(quiet, 50)).toFixed(2)} ms, p99 ${(pct(xs, 99) - pct(quiet, 99)).toFixed(2)} ms`;
  console.log(`delta, control:       ${d(control.keys)}`);
  console.log(`delta, one address:   ${d(one.keys)}`);
  console.log(`delta, ${SOURCES} addresses: ${d(many.keys)}`);
  for (const [name, f] of [['one address', one.flood], [`${SOURCES} addresses`, many.flood]] as const) {
    console.log(`flood (${name}): sent ${f.sent}, not sent (client behind) ${f.skipped}, outcomes ${JSON.stringify(f.outcomes)}, refusal codes ${JSON.stringify(f.refusals)}`);
  }
  console.log(`gateway event loop delay (ms): no flood ${quietLoop}; one address ${one.loop}; ${SOURCES} addresses ${many.loop}`);
  const metrics = await fetchMetrics();
  console.log(metrics.split('\n').filter((l) => /^portcullis_(login|auth)/.test(l)).join('\n'));
  const worst = Math.max(pct(one.keys, 99), pct(many.keys, 99)) - pct(quiet, 99);
  console.log(worst < 5 ? `OK: p99 moved ${worst.toFixed(2)} ms (< 5 ms)` : `OVER THE BAR: p99 moved ${worst.toFixed(2)} ms (bar: < 5 ms)`);
} finally {
  await fx.stop();
}

/** A server in its own process that refuses every connection with a MySQL error packet at once. */
async function dummyServer(): Promise<{ port: number; stop(): void }> {
  const err = errPacket(0, 1129, 'HY000', 'dummy').toString('hex');
  const child = spawn(process.execPath, ['-e', `
    const s = require('node:net').createServer((c) => { c.on('error', () => {}); c.end(Buffer.from('${err}', 'hex')); });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return { port, stop: () => { child.kill(); } };
}

async function fetchMetrics(): Promise<string> {
  const token = (await import('node:fs')).readFileSync(`${fx.gw.dataDir}/admin.token`, 'utf8').trim();
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request(`${fx.gw.url}/metrics`, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(body));
    });
    req.on('error', (e) => resolve(`metrics unavailable: ${e.message}`));
    req.end();
  });
}
