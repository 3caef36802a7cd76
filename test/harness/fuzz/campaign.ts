// A fuzz campaign against a running gateway: for each listener in turn, `perListener` generated
// inputs, at most `concurrency` connections at a time, each from its own loopback address; the live
// sessions are pinged throughout and the gateway's RSS and open fds sampled. Afterwards the gateway's
// log is read to find, for every input, the line that says why its connection ended. The report says
// what happened; it asserts nothing (the e2e test and `npm run fuzz` decide what fails).
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { type ClosedBy, drive, type DriveOptions } from './driver.js';
import { digestLog, normalizeReason } from './gateway-log.js';
import type { LiveSessions, PingResult } from './live-sessions.js';
import { type Ending, generate, LISTENERS } from './mutate.js';
import type { Corpus, ListenerName } from './seeds.js';

export interface CampaignOptions {
  seed: number;
  perListener: number;
  listeners?: readonly ListenerName[];
  /** Connections at a time, per listener. */
  concurrency: number;
  /** Fuzz all listeners at once (each with its own `concurrency`) instead of one after another. */
  parallel?: boolean;
  ports: Record<ListenerName, number>;
  gatewayPid: number;
  logFile: string;
  live: LiveSessions;
  pingEveryMs: number;
  pingTimeoutMs: number;
  driver?: Partial<Omit<DriveOptions, 'host' | 'port' | 'localAddress' | 'seed'>>;
  /** Asked before each new input: true ends the run early (what ran so far is reported). */
  shouldStop?(): boolean;
  /** How long to let the gateway's last lines reach its log before reading it. */
  settleMs?: number;
  progress?(line: string): void;
}

export interface ListenerReport {
  listener: ListenerName;
  inputs: number;
  ms: number;
  closedBy: Record<ClosedBy, number>;
  endings: Record<Ending, number>;
  /** Inputs whose address has no line in the gateway's log. */
  unlogged: number;
  /** Lines logged for this listener without an address (reset before accept): they explain as many unlogged inputs. */
  loggedWithoutAddress: number;
  unloggedExamples: string[];
  /** The gateway's peak RSS while this listener was fuzzed (all of them, when run in parallel). */
  peakRssMb: number;
  /** Normalized "message: reason" of the last line logged per input, most frequent first. */
  reasons: Array<[string, number]>;
}

export interface Resources { rssMb: number; fds: number }

export interface CampaignReport {
  seed: number;
  listeners: ListenerReport[];
  gatewayAlive: boolean;
  listenersAccepting: Record<ListenerName, boolean>;
  notJson: string[];
  errors: Array<[string, number]>;
  before: Resources;
  peak: Resources;
  after: Resources;
  pings: Record<string, { ok: number; failed: number; maxMs: number; medianMs: number }>;
  logLines: number;
}

/** Input i of listener L comes from 127.(16+8L+hi).x.y: unique per input, never 127.0.0.1. */
export function fuzzAddress(listener: ListenerName, i: number): string {
  const l = LISTENERS.indexOf(listener);
  return `127.${16 + 8 * l + Math.floor(i / 65024)}.${Math.floor(i / 254) % 256}.${1 + (i % 254)}`;
}

export function resources(pid: number): Resources {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(rss / 102.4) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function runCampaign(corpus: Corpus, o: CampaignOptions): Promise<CampaignReport> {
  const listeners = o.listeners ?? LISTENERS;
  const driver: Omit<DriveOptions, 'port' | 'localAddress'> = {
    host: '127.0.0.1', waitMs: 120, closeWaitMs: 5_000, stallMs: 15_000, replyWaitMs: 150, seed: o.seed, ...o.driver,
  };
  const before = resources(o.gatewayPid);
  const peak = { ...before };
  let listenerPeak = 0;
  const sampler = setInterval(() => {
    if (!alive(o.gatewayPid)) return;
    const r = resources(o.gatewayPid);
    peak.rssMb = Math.max(peak.rssMb, r.rssMb);
    peak.fds = Math.max(peak.fds, r.fds);
    listenerPeak = Math.max(listenerPeak, r.rssMb);
  }, 500);
  const pings: PingResult[] = [];
  let pinging = true;
  const pinger = (async () => {
    for (let n = 1; pinging; n++) {
      pings.push(...await o.live.ping(n, o.pingTimeoutMs));
      await new Promise((r) => setTimeout(r, o.pingEveryMs));
    }
  })();

  const reports: ListenerReport[] = [];
  const inputs = new Map<string, { listener: ListenerName; describe: string; closedBy: ClosedBy }>();
  try {
    const runListener = async (listener: ListenerName): Promise<void> => {
      const t0 = Date.now();
      listenerPeak = 0;
      const closedBy: Record<ClosedBy, number> = { gateway: 0, 'client-eof': 0, client: 0, reset: 0, 'connect-failed': 0 };
      const endings: Record<Ending, number> = { 'half-close': 0, wait: 0, reset: 0, stall: 0 };
      let next = 0;
      let done = 0;
      const worker = async (): Promise<void> => {
        while (next < o.perListener && !o.shouldStop?.()) {
          const i = next++;
          done++;
          const input = generate(corpus, listener, o.seed, i);
          const localAddress = fuzzAddress(listener, i);
          const out = await drive(input, { ...driver, port: o.ports[listener], localAddress });
          closedBy[out.closedBy]++;
          endings[input.ending]++;
          const size = input.steps.reduce((s, x) => s + x.data.length, 0);
          inputs.set(localAddress, {
            listener, closedBy: out.closedBy,
            describe: `#${i} ${input.seed} [${input.mutations.join(',')}] ${size} B ${input.delivery}/${input.ending} → ${out.closedBy}${out.error ? ` (${out.error})` : ''}`,
          });
          if (i > 0 && i % 5000 === 0) o.progress?.(`${listener}: ${i}/${o.perListener} inputs, ${Math.round(i / ((Date.now() - t0) / 1000))}/s`);
        }
      };
      await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
      reports.push({ listener, inputs: done, ms: Date.now() - t0, closedBy, endings, unlogged: 0, loggedWithoutAddress: 0, unloggedExamples: [], reasons: [], peakRssMb: listenerPeak });
    };
    if (o.parallel) await Promise.all(listeners.map(runListener));
    else for (const listener of listeners) await runListener(listener);
  } finally {
    pinging = false;
    await pinger;
    clearInterval(sampler);
  }
  // Every input's connection is closed by now (the driver destroys what it gives up on); the
  // gateway's last lines reach its log before anything is counted.
  await new Promise((r) => setTimeout(r, o.settleMs ?? 3_000));
  const gatewayAlive = alive(o.gatewayPid);
  const after = gatewayAlive ? resources(o.gatewayPid) : { rssMb: 0, fds: 0 };
  const listenersAccepting = Object.fromEntries(await Promise.all(LISTENERS.map(async (l) => [l, await accepting(o.ports[l])] as const))) as Record<ListenerName, boolean>;
  const digest = await digestLog(o.logFile, (addr) => inputs.has(addr));
  const prefix: Record<ListenerName, string> = { ssh: 'ssh', postgres: 'pg', mysql: 'mysql', https: 'http' };
  for (const rep of reports) {
    rep.loggedWithoutAddress = digest.unknownAddr.get(prefix[rep.listener]) ?? 0;
    const reasons = new Map<string, number>();
    for (const [addr, info] of inputs) {
      if (info.listener !== rep.listener) continue;
      const lines = digest.byAddr.get(addr);
      if (!lines || lines.length === 0) {
        rep.unlogged++;
        if (rep.unloggedExamples.length < 12) rep.unloggedExamples.push(`${addr} ${info.describe}`);
        continue;
      }
      const key = normalizeReason(lines[lines.length - 1]!);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    rep.reasons = [...reasons].sort((a, b) => b[1] - a[1]);
  }
  const bySession = new Map<string, number[]>();
  const failed = new Map<string, number>();
  for (const p of pings) {
    if (p.ok) bySession.set(p.session, [...(bySession.get(p.session) ?? []), p.ms]);
    else failed.set(p.session, (failed.get(p.session) ?? 0) + 1);
  }
  const pingSummary = Object.fromEntries(o.live.names.map((name) => {
    const ms = [...(bySession.get(name) ?? [])].sort((a, b) => a - b);
    return [name, { ok: ms.length, failed: failed.get(name) ?? 0, maxMs: ms[ms.length - 1] ?? 0, medianMs: ms[Math.floor(ms.length / 2)] ?? 0 }];
  }));
  return {
    seed: o.seed, listeners: reports, gatewayAlive, listenersAccepting, notJson: digest.notJson,
    errors: [...digest.errors].sort((a, b) => b[1] - a[1]), before, peak, after, pings: pingSummary, logLines: digest.lines,
  };
}
