// Masked input cannot hide commands (issue 13 item 4). A user with a valid grant makes every prompt
// look like a password prompt and turns echo off (`PS1='Password: '; stty -echo`), then types
// commands through real OpenSSH under a pty (tmux). Viewers see only `*`; the recording file holds
// no clear text of the commands; `portcullis session reveal` (admins) returns them and the audit
// log records who revealed which span and why; an investigator is refused; the gateway's log never
// holds the text; asciinema still plays the file; in Chromium an admin's Reveal button shows the
// command while an investigator gets no button; and after `vault rotate-key` and a restart with
// only the new master key the old spans still open.
import { existsSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newContext, screenshotPath, signIn } from '../harness/browser.js';
import { requireBinary, runOk } from '../harness/common.js';
import { adminIn, asIn } from '../harness/cli-in-process.js';
import { type CliResult, json } from '../harness/gateway.js';
import { type SshFixture, Tmux, latestClosedSession, startSshFixture } from '../harness/ssh-fixture.js';
import { RecordingLayout } from '../../recorder/layout.js';

type Ev = [number, string, string];

let fx: SshFixture;
let sessionId = '';
let castPath = '';
let events: Ev[] = [];
const tag = `pc-hidden-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
const FIRST = `touch /tmp/${tag} && echo done-$((6*7))`;
const SECOND = `rm /tmp/${tag}; echo gone-$((7*7))`;

interface AuditEntry { code: string; actor: string; data: Record<string, unknown> }
// The CLI in process (test/harness/cli-in-process.ts): the same code without ~1.2 s of Node start-up
// a call; the investigator's login and the key rotation stay real processes.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);
const asIvy = (args: string[]): Promise<CliResult> => asIn(fx.gw, 'ivy', args);
const revealedEvents = async (): Promise<AuditEntry[]> => json<AuditEntry[]>(await admin(['audit', 'list', '--json'])).filter((e) => e.code === 'session.revealed');
const maskedAt = (): number[] => events.filter((e) => e[1] === 'm' && e[2] === 'masked input').map((e) => e[0]);

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
  await admin(['user', 'add', 'ivy', '--role', 'investigator', '--password-stdin'], 'ivy-Password-1\n');
  await admin(['user', 'add', 'root-admin', '--role', 'admin', '--password-stdin'], 'admin-Password-1\n');
  const login = fx.gw.login('ivy', 'ivy-Password-1');
  if (login.code !== 0) throw new Error(login.stderr);
  const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`);
  try {
    await t.waitFor(/\$\s*$/m);
    t.send(`PS1='Password: '; stty -echo`);
    // The new prompt on a line of its own (the typed line, echoed, starts with "$ PS1=").
    await t.waitFor(/^Password: ?$/m);
    t.send(FIRST);
    await t.waitFor(/done-42/);
    expect(existsSync(`/tmp/${tag}`)).toBe(true);
    t.send(SECOND);
    await t.waitFor(/gone-49/);
    t.send('exit');
    sessionId = await latestClosedSession(fx.gw);
  } finally {
    t.kill();
  }
  castPath = RecordingLayout.inDataDir(fx.gw.dataDir, sessionId).cast(1);
  events = readFileSync(castPath, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as Ev);
}, 180_000);

afterAll(async () => { await fx?.stop(); });

describe('masked input through real OpenSSH', () => {
  it('shows viewers only stars, and the recording file holds no clear text of the hidden commands', () => {
    const raw = readFileSync(castPath, 'utf8');
    expect(raw).not.toContain(tag);
    expect(raw).not.toContain('touch /tmp');
    expect(raw).toMatch(/done-42/);
    const typed = events.filter((e) => e[1] === 'i').map((e) => e[2]).join('');
    expect(typed).toContain('*'.repeat(FIRST.length));
    expect(typed).not.toContain('touch');
    expect(maskedAt().length).toBeGreaterThanOrEqual(3);
    expect(events.filter((e) => e[1] === 's').length).toBeGreaterThanOrEqual(3);
  });

  it('still plays in asciinema, which skips the sealed events', () => {
    const asciinema = requireBinary('asciinema', 'asciinema');
    const out = runOk('script', ['-qec', `${asciinema} cat ${castPath}`, '/dev/null']);
    expect(out).toMatch(/gone-49/);
    expect(out).not.toContain(tag);
  });

  it('reveals each hidden command to an admin, and the audit log records who, which span and why', async () => {
    const before = (await revealedEvents()).length;
    const [first, second, third] = maskedAt();
    const r = await admin(['session', 'reveal', sessionId, '--at', String(first), '--reason', 'INC-13 review']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${FIRST}\\r`);
    expect(r.stderr).toMatch(/masked input 1 of channel 1/);
    const j = json<{ text: string; span: number; channel: number }>(await admin(['session', 'reveal', sessionId, '--at', ((second! + third!) / 2).toFixed(4), '--json']));
    expect(j).toMatchObject({ text: `${SECOND}\r`, span: 2, channel: 1 });
    expect(json<{ text: string }>(await admin(['session', 'reveal', sessionId, '--span', '3', '--json'])).text).toBe('exit\r');
    const audited = await revealedEvents();
    expect(audited).toHaveLength(before + 3);
    expect(audited[before]).toMatchObject({ code: 'session.revealed', data: { session: sessionId, channel: 1, span: 1, reason: 'INC-13 review' } });
    expect(audited[before + 1]!.data).toMatchObject({ span: 2, reason: null });
    expect(JSON.stringify(audited)).not.toContain(tag);
  });

  it('refuses an investigator (403) without revealing or auditing a reveal, and never logs the text', async () => {
    const before = (await revealedEvents()).length;
    const r = await asIvy(['session', 'reveal', sessionId, '--at', String(maskedAt()[0])]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/forbidden|403/i);
    expect(r.stdout).not.toContain(tag);
    expect(await revealedEvents()).toHaveLength(before);
    expect(fx.gw.log()).not.toContain(tag);
    expect((await admin(['audit', 'export'])).stdout).not.toContain(tag);
  });

  it('lists where the masked spans are without revealing anything, and says so when asked for a time before any', async () => {
    const before = (await revealedEvents()).length;
    const l = json<{ channel: number; spans: Array<{ span: number; t: number; pieces: number }> }>(await asIvy(['session', 'reveal', sessionId, '--json']));
    expect(l.channel).toBe(1);
    expect(l.spans.map((s) => s.t)).toEqual(maskedAt());
    expect(l.spans.every((s) => s.pieces >= 1)).toBe(true);
    expect(JSON.stringify(l)).not.toContain(tag);
    expect(await revealedEvents()).toHaveLength(before);
    const r = await admin(['session', 'reveal', sessionId, '--at', '0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/masked input starts at/);
  });
});

describe('the reveal button in the web player', () => {
  let browser: Browser;
  beforeAll(async () => { browser = await launchChromium(); }, 60_000);
  afterAll(async () => { await browser?.close(); });

  const open = async (user: string, password: string): Promise<Page> => {
    const page = await (await newContext(browser)).newPage();
    await signIn(page, fx.gw.url, user, password);
    await page.goto(`${fx.gw.url}/#/session/${sessionId}?t=0`);
    await page.waitForSelector('#terminal .xterm-rows');
    return page;
  };

  it('shows an admin the hidden command after a click, audited with the reason typed; the screen itself never shows it', async () => {
    const before = (await revealedEvents()).length;
    const page = await open('root-admin', 'admin-Password-1');
    await page.waitForSelector('#reveal-panel button.reveal');
    expect(await page.locator('#reveal-panel button.reveal').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#terminal .xterm-rows').innerText()).not.toContain(tag);
    await page.fill('#reveal-reason', 'checked from the player');
    await page.click('#reveal-panel button.reveal[data-span="1"]');
    const shown = await page.waitForSelector('pre.revealed[data-span="1"]:not([hidden])');
    expect(await shown.innerText()).toContain(FIRST);
    await page.screenshot({ path: screenshotPath('player-reveal') });
    const audited = await revealedEvents();
    expect(audited).toHaveLength(before + 1);
    expect(audited[before]).toMatchObject({ actor: 'root-admin', data: { session: sessionId, span: 1, reason: 'checked from the player' } });
  });

  it('gives an investigator no reveal button', async () => {
    const page = await open('ivy', 'ivy-Password-1');
    await page.waitForSelector('.mark.masked', { state: 'attached' });
    expect(await page.locator('#reveal-panel').count()).toBe(0);
  });
});

describe('across a master-key rotation', () => {
  it('re-wraps the recording key, and a gateway restarted with only the new master key still reveals old spans', async () => {
    const before = readFileSync(`${fx.gw.dataDir}/master.key`, 'utf8');
    const r = json<{ resealed: number }>(fx.gw.admin(['vault', 'rotate-key', '--json']));
    // The target's credential and the recording key.
    expect(r.resealed).toBe(2);
    expect(readFileSync(`${fx.gw.dataDir}/master.key`, 'utf8')).not.toBe(before);
    await fx.gw.restart();
    const j = json<{ text: string }>(fx.gw.admin(['session', 'reveal', sessionId, '--at', String(maskedAt()[0]), '--json']));
    expect(j.text).toBe(`${FIRST}\r`);
  }, 60_000);
});
