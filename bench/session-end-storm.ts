// Many sessions ending at once (issue 13, item 9b): N SSH sessions with a pty through the built
// gateway to a real sshd, each printing a few hundred KB (so each recording gets keyframes), all
// closed in the same instant. Samples the gateway's RSS (/proc/PID/status) every 100 ms: at rest,
// with the sessions open, at its peak while the post-close pool works through the recordings, and
// after the queue drained. Not a test: it prints figures and only fails loudly on a broken run.
//   npm run bench:end-storm          (BENCH_SESSIONS=200 by default)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { recordingsRoot } from '../recorder/layout.js';
import { startSshFixture } from '../test/harness/ssh-fixture.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);
/** Output per session: `seq` lines, ~350 KB, past the 256 KB keyframe step. */
const SEQ = Number(process.env.BENCH_SEQ ?? 60_000);

const fx = await startSshFixture();
fx.grant('ops', 'web01', '2h');
const pid = fx.gw.pid;
const key = readFileSync(fx.opsKey);
const markers = join(fx.gw.dataDir, 'post-close');

function rssMb(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const queued = (): number => (existsSync(markers) ? readdirSync(markers).filter((f) => f.endsWith('.json')).length : 0);

/** One session: a pty shell that prints SEQ lines, then sits at its prompt. */
function openSession(i: number): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('error', reject);
    c.once('ready', () => {
      c.shell({ term: 'xterm', rows: 24, cols: 80 }, (err, ch) => {
        if (err) return reject(err);
        let out = '';
        ch.on('data', (d: Buffer) => {
          out = (out + d.toString()).slice(-200);
          if (out.includes(`printed-${i}-done`)) { ch.removeAllListeners('data'); ch.on('data', () => {}); resolve(c); }
        });
        ch.write(`seq 1 ${SEQ}; echo printed-${i}-done\n`);
      });
    });
    c.connect({ host: '127.0.0.1', port: fx.gw.ports.ssh, username: 'ops+web01', privateKey: key, readyTimeout: 60_000 });
  });
}

try {
  // Resting size: the gateway after one session came and went (modules loaded, pool warmed).
  (await openSession(-1)).end();
  while (queued() > 0) await sleep(200);
  await sleep(3000);
  const rest = rssMb();

  const clients: ssh2.Client[] = [];
  const openStart = Date.now();
  for (let i = 0; i < SESSIONS; i += 20) {
    clients.push(...await Promise.all(Array.from({ length: Math.min(20, SESSIONS - i) }, (_, k) => openSession(i + k))));
  }
  await sleep(2000);
  const open = rssMb();
  console.log(`[end-storm] ${clients.length} sessions open in ${((Date.now() - openStart) / 1000).toFixed(1)} s; RSS ${rest.toFixed(0)} MB at rest, ${open.toFixed(0)} MB with them open`);

  let peak = open;
  let peakQueue = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssMb()); peakQueue = Math.max(peakQueue, queued()); }, 100);
  const closeAt = Date.now();
  for (const c of clients) c.end();
  // Every recording sealed and handed to the pool, then the pool drained.
  await sleep(2000);
  while (queued() > 0) await sleep(200);
  const drainedS = (Date.now() - closeAt) / 1000;
  const drained = rssMb();
  await sleep(10_000);
  clearInterval(sampler);
  const after = rssMb();
  const keyframes = readdirSync(recordingsRoot(fx.gw.dataDir)).filter((d) => existsSync(join(recordingsRoot(fx.gw.dataDir), d, 'ch-1.keyframes.json'))).length;
  console.log(`[end-storm] closed together: peak RSS ${peak.toFixed(0)} MB (post-close queue up to ${peakQueue}), queue drained in ${drainedS.toFixed(1)} s `
    + `at ${drained.toFixed(0)} MB, ${after.toFixed(0)} MB 10 s later (rest ${rest.toFixed(0)} MB); ${keyframes} recordings have keyframes`);
  console.log(JSON.stringify({ sessions: clients.length, restMb: Math.round(rest), openMb: Math.round(open), peakMb: Math.round(peak), drainedS, afterMb: Math.round(after), peakQueue, keyframes }));
} finally {
  await fx.stop();
}
