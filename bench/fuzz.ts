// The full pre-authentication fuzz run (issue 13 item 10): 100,000 generated inputs per listener
// (SSH, PostgreSQL, MySQL, HTTPS with WebSocket upgrades), 32 connections at a time, against the
// built gateway in front of real sshd, PostgreSQL and MariaDB, while real ssh, psql, mariadb and a
// browser terminal (headless Chromium) sessions run a command every 2 s. Prints per-listener
// counts, inputs/s, closes by logged reason, crashes, the gateway's RSS and fds before/peak/after,
// and the live sessions' answers; exits 1 if anything a user would notice went wrong.
//   npm run fuzz     FUZZ_INPUTS=100000 FUZZ_SEED=13 FUZZ_CONCURRENCY=32 FUZZ_BROWSER=1 FUZZ_LISTENERS=ssh,postgres,mysql,https
//                    FUZZ_PARALLEL=1 (all listeners at once, FUZZ_CONCURRENCY each), FUZZ_MAX_SECONDS=N (stop early, report)
import { runCampaign } from '../test/harness/fuzz/campaign.js';
import { startFuzzEnv } from '../test/harness/fuzz/fixture.js';
import { LiveSessions } from '../test/harness/fuzz/live-sessions.js';
import { LISTENERS } from '../test/harness/fuzz/mutate.js';
import { formatReport, unexplained } from '../test/harness/fuzz/report.js';
import { captureCorpus, type ListenerName } from '../test/harness/fuzz/seeds.js';

const seed = Number(process.env.FUZZ_SEED ?? 13);
const perListener = Number(process.env.FUZZ_INPUTS ?? 100_000);
const concurrency = Number(process.env.FUZZ_CONCURRENCY ?? 32);
const browser = (process.env.FUZZ_BROWSER ?? '1') !== '0';
const parallel = process.env.FUZZ_PARALLEL === '1';
// A time budget, and Ctrl-C: either ends the run early and still reports what ran.
const maxSeconds = Number(process.env.FUZZ_MAX_SECONDS ?? 0);
let stopRequested = false;
process.on('SIGINT', () => { stopRequested = true; console.log('stopping: finishing the inputs in flight, then reporting'); });
const listeners = (process.env.FUZZ_LISTENERS?.split(',') ?? [...LISTENERS]) as ListenerName[];

const env = await startFuzzEnv();
let failed = true;
try {
  const ports = { ssh: env.gw.ports.ssh, postgres: env.gw.ports.postgres, mysql: env.gw.ports.mysql, https: env.gw.ports.https };
  const corpus = await captureCorpus(ports);
  console.log(`corpus: ${Object.entries(corpus).map(([l, s]) => `${l}: ${s.map((x) => `${x.name} (${x.flights.map((f) => f.length).join('+')} B)`).join(', ')}`).join('; ')}`);
  const live = await LiveSessions.start(env, { browser, maxMs: 24 * 3600_000 });
  console.log(`live sessions up: ${live.names.join(', ')}; gateway log: ${env.logFile}`);
  const t0 = Date.now();
  const report = await runCampaign(corpus, {
    seed, perListener, listeners, concurrency, parallel, ports, gatewayPid: env.gw.pid, logFile: env.logFile, live,
    // Past the gateway's 5 s half-close grace, so "after" counts only what it really keeps open.
    pingEveryMs: 2_000, pingTimeoutMs: 20_000, settleMs: 8_000, progress: (line) => console.log(line),
    shouldStop: () => stopRequested || (maxSeconds > 0 && Date.now() - t0 > maxSeconds * 1000),
  });
  await live.stop();
  console.log(formatReport(report));
  console.log(`\ntotal ${Math.round((Date.now() - t0) / 1000)} s`);
  failed = !report.gatewayAlive || report.notJson.length > 0 || Object.values(report.listenersAccepting).some((a) => !a)
    || report.listeners.some((l) => unexplained(l) > 0 || l.closedBy['connect-failed'] > 0)
    || Object.values(report.pings).some((p) => p.failed > 0);
  console.log(failed ? 'FUZZ: FAILED' : 'FUZZ: OK');
} finally {
  if (process.env.FUZZ_KEEP !== '1') await env.stop();
}
process.exit(failed ? 1 : 0);
