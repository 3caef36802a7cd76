// Pre-authentication fuzz, short fixed-seed run (the full run is `npm run fuzz`): generated inputs
// to each listener — SSH, PostgreSQL, MySQL and HTTPS with WebSocket upgrades — from first flights
// captured from real ssh, psql, mariadb, curl and ws clients, mutated by a seeded generator, sent
// from one loopback address each. The built gateway must stay up, close every connection with a
// reason in its log, keep memory and fds bounded, and keep real ssh, psql, mariadb and browser
// terminal sessions answering throughout. Plus the inputs that took the gateway down before.
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CampaignReport, runCampaign } from '../harness/fuzz/campaign.js';
import { type FuzzEnv, startFuzzEnv } from '../harness/fuzz/fixture.js';
import { LiveSessions } from '../harness/fuzz/live-sessions.js';
import { formatReport, unexplained } from '../harness/fuzz/report.js';
import { captureCorpus } from '../harness/fuzz/seeds.js';

const SEED = 1313;
const PER_LISTENER = 250;

let env: FuzzEnv;
let live: LiveSessions | undefined;

beforeAll(async () => {
  env = await startFuzzEnv();
}, 180_000);

afterAll(async () => {
  await live?.stop();
  await env?.stop();
});

/** One HTTP request over TLS, whole; resolves with what the gateway answered before closing. */
function overTls(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => s.write(request));
    let out = '';
    s.on('data', (d: Buffer) => { out += d.toString('latin1'); if (out.includes('\r\n\r\n')) s.destroy(); });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
}

describe('pre-authentication fuzz of every listener', () => {
  it('answers request targets the URL parser rejects with 400, as requests and as upgrades, and stays up', async () => {
    const port = env.gw.ports.https;
    expect(await overTls(port, 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await overTls(port, 'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    // With the listener's own Origin (https:// + Host) the upgrade reaches the route and ws; without one it is 403 (web-origin.test.ts).
    expect(await overTls(port, 'GET /api/v1/l/terminal HTTP/1.1\r\nHost: x\r\nOrigin: https://x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 99\r\n\r\n'))
      .toMatch(/^HTTP\/1\.1 (400|401)/);
    expect(await overTls(port, 'GET /api/v1/l/terminal HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 99\r\n\r\n'))
      .toMatch(/^HTTP\/1\.1 403/);
    expect(await overTls(port, 'GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 401/);
    expect(env.gw.log()).toMatch(/"reason":"request target is not a URL","msg":"http.bad_request"/);
  });

  it('survives a seeded run on SSH, PostgreSQL, MySQL and HTTPS with a logged reason per connection, while live sessions keep answering', async () => {
    const ports = { ssh: env.gw.ports.ssh, postgres: env.gw.ports.postgres, mysql: env.gw.ports.mysql, https: env.gw.ports.https };
    const corpus = await captureCorpus(ports);
    live = await LiveSessions.start(env, { browser: true, maxMs: 600_000 });
    const report: CampaignReport = await runCampaign(corpus, {
      seed: SEED, perListener: PER_LISTENER, concurrency: 32, ports, gatewayPid: env.gw.pid, logFile: env.logFile, live,
      pingEveryMs: 1_000, pingTimeoutMs: 15_000, driver: { stallMs: 6_000 }, settleMs: 2_000,
    });
    console.log(formatReport(report, 6));

    expect(report.gatewayAlive).toBe(true);
    expect(report.notJson).toEqual([]);
    expect(report.listenersAccepting).toEqual({ ssh: true, postgres: true, mysql: true, https: true });
    expect(report.errors).toEqual([]);
    for (const l of report.listeners) {
      expect(l.closedBy['connect-failed'], l.listener).toBe(0);
      expect(unexplained(l), `${l.listener}: ${l.unloggedExamples.join('\n')}`).toBe(0);
    }
    for (const [name, p] of Object.entries(report.pings)) {
      expect(p.failed, name).toBe(0);
      expect(p.ok, name).toBeGreaterThanOrEqual(3);
    }
    // Bounded: the fuzz connections are gone afterwards and memory did not run away.
    expect(report.after.fds).toBeLessThanOrEqual(report.before.fds + 8);
    expect(report.peak.rssMb).toBeLessThan(400);
  }, 240_000);
});
