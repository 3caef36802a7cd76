// The sessions that must keep working while the listeners are fuzzed: real OpenSSH (-tt, a shell on
// the target's sshd), psql and mariadb through the gateway, and optionally a vendor's browser
// terminal in headless Chromium (a one-time link; its keystrokes and screen go over the gateway's
// WebSocket). `ping(n)` runs a command in each whose answer is computed on the target, so the typed
// text never matches it, and reports per session whether the answer came back and how fast.
import type { Browser, Page } from 'playwright-core';
import { requireBinary, waitFor } from '../common.js';
import { launchChromium, newContext } from '../browser.js';
import { json } from '../gateway.js';
import { PipedClient } from '../piped-client.js';
import { type FuzzEnv, OPS_PASSWORD } from './fixture.js';

export interface PingResult { session: string; ok: boolean; ms: number }

interface Live {
  name: string;
  ping(n: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

function piped(name: string, client: PipedClient, command: (n: number) => string, answer: (n: number) => RegExp): Live {
  return {
    name,
    ping: async (n, timeoutMs) => {
      client.clearOutput();
      client.type(command(n));
      await client.waitFor(answer(n), timeoutMs);
    },
    stop: async () => { client.kill(); await client.exited; },
  };
}

async function browserTerminal(env: FuzzEnv): Promise<{ live: Live; browser: Browser }> {
  const link = json<{ url: string }>(env.gw.admin(['link', 'create', 'web01', '--ttl', '12h', '--label', 'fuzz', '--json']));
  const browser = await launchChromium();
  const page: Page = await (await newContext(browser)).newPage();
  const screen = (): Promise<string> => page.locator('#terminal .xterm-rows').innerText();
  await page.goto(link.url);
  await page.waitForSelector('#link-card');
  await page.click('#open');
  await page.waitForSelector('#terminal .xterm-rows');
  await waitFor('the browser terminal prompt', async () => /\$\s*$/m.test(await screen()), 30_000);
  await page.click('#terminal');
  await page.keyboard.type('clear');
  await page.keyboard.press('Enter');
  return {
    browser,
    live: {
      name: 'browser',
      ping: async (n, timeoutMs) => {
        await page.keyboard.type(`echo ping-$((1000+${n}))`);
        await page.keyboard.press('Enter');
        await waitFor(`browser ping ${n}`, async () => (await screen()).includes(`ping-${1000 + n}`), timeoutMs);
      },
      stop: async () => { await browser.close(); },
    },
  };
}

export class LiveSessions {
  private constructor(private readonly sessions: Live[]) {}

  static async start(env: FuzzEnv, opts: { browser: boolean; maxMs: number }): Promise<LiveSessions> {
    const gw = env.gw;
    const ssh = new PipedClient(requireBinary('openssh-client', 'ssh'), ['-tt', '-p', String(gw.ports.ssh), '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'ServerAliveInterval=0', '-i', env.opsKey,
      'ops+web01@127.0.0.1'], {}, opts.maxMs);
    const psql = new PipedClient(requireBinary('postgresql-client-15', 'psql'), ['-X', '-A', '-t',
      `host=127.0.0.1 port=${gw.ports.postgres} user=ops+orders-db dbname=orders sslmode=require connect_timeout=10`], { PGPASSWORD: OPS_PASSWORD }, opts.maxMs);
    const mariadb = new PipedClient(requireBinary('mariadb-client', 'mariadb'), ['--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql),
      '-u', 'ops+shop-db', `-p${OPS_PASSWORD}`, '--ssl', '--batch', '--skip-reconnect', '--unbuffered'], {}, opts.maxMs);
    const sessions = [
      piped('ssh', ssh, (n) => `echo ping-$((1000+${n}))`, (n) => new RegExp(`^ping-${1000 + n}\\r?$`, 'm')),
      piped('postgres', psql, (n) => `select 'ping-' || (1000+${n});`, (n) => new RegExp(`^ping-${1000 + n}$`, 'm')),
      piped('mysql', mariadb, (n) => `select concat('ping-', 1000+${n});`, (n) => new RegExp(`^ping-${1000 + n}$`, 'm')),
    ];
    if (opts.browser) sessions.push((await browserTerminal(env)).live);
    const live = new LiveSessions(sessions);
    // Each must answer once before fuzzing starts: the run measures keeping them, not starting them.
    const first = await live.ping(0, 30_000);
    const down = first.filter((p) => !p.ok).map((p) => p.session);
    if (down.length) throw new Error(`live sessions did not start: ${down.join(', ')}`);
    return live;
  }

  get names(): string[] {
    return this.sessions.map((s) => s.name);
  }

  async ping(n: number, timeoutMs: number): Promise<PingResult[]> {
    return Promise.all(this.sessions.map(async (s) => {
      const t0 = Date.now();
      try {
        await s.ping(n, timeoutMs);
        return { session: s.name, ok: true, ms: Date.now() - t0 };
      } catch {
        return { session: s.name, ok: false, ms: Date.now() - t0 };
      }
    }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.stop().catch(() => undefined)));
  }
}
