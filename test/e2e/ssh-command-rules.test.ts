// Command rules with real OpenSSH against a real sshd through the gateway: an exec `shutdown -h
// now` is refused with a non-zero exit and the rule's message on stderr, an allowed exec runs; at
// an interactive bash (tmux driving `ssh -tt`) a `rm -rf` made by editing a history line (Up,
// Home, Delete, typing) or finished with tab completion is stopped before its Enter reaches the
// target: the directory survives, the user sees the message and the shell goes on. The same in a
// vendor's browser terminal (real Chromium), where the message is the page's notice.
// Rules are written into the gateway's store directly (the CLI for rules is built elsewhere) and
// the gateway restarted so its rule book has them.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, chownSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, waitFor } from '../harness/common.js';
import { launchChromium, newContext } from '../harness/browser.js';
import { json } from '../harness/gateway.js';
import { type SshFixture, Tmux, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
const dir = `/tmp/pcg${process.pid}-dir`;
const RM_MESSAGE = 'recursive deletes are not allowed on this target';

function addRule(name: string, match: string, message: string): void {
  const db = new Database(join(fx.gw.dataDir, 'state.db'));
  try {
    db.prepare(`INSERT INTO rules (id, name, kind, class, match, action, targets, roles, levels, message, unparsable, created_at, created_by)
      VALUES (?, ?, 'command', NULL, ?, 'deny', '[]', '[]', '[]', ?, 'deny', ?, 'test')`).run(`rul_${name}`, name, match, message, Date.now());
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  fx = await startSshFixture();
  addRule('no-rm-rf', 'rm -rf *', RM_MESSAGE);
  addRule('no-shutdown', 'glob:shutdown*', 'shutting down needs a change ticket');
  await fx.gw.restart();
  fx.grant('ops', 'web01', '30m');
  mkdirSync(dir, { recursive: true });
  const uid = Number(run('id', ['-u', fx.sshd.user]).stdout.trim());
  chownSync(dir, uid, uid);
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await fx?.stop();
});

describe('command rules on SSH', () => {
  it('refuses an exec shutdown with a non-zero exit and the message on stderr; an allowed exec runs', async () => {
    const denied = await fx.ssh('ops+web01', ['shutdown -h now']);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toContain('Portcullis: shutting down needs a change ticket');
    const quoted = await fx.ssh('ops+web01', [`'r'm -r -f ${dir}`]);
    expect(quoted.status).not.toBe(0);
    expect(quoted.stderr).toContain(RM_MESSAGE);
    expect(existsSync(dir)).toBe(true);
    const ok = await fx.ssh('ops+web01', ['echo allowed-$((6*7))']);
    expect(ok.status).toBe(0);
    expect(ok.stdout.toString()).toContain('allowed-42');
  });

  it('checks shell code piped to a shell without a terminal: ssh host < lines, ssh host bash -s < script', async () => {
    // No pty: the shell reads its code from stdin. Lines before the denied one run; it and the rest never reach the target.
    const shell = await fx.ssh('ops+web01', [], { input: `echo first-$((1+1))\nrm -rf ${dir}\necho never\n` });
    expect(shell.stdout.toString()).toContain('first-2');
    expect(shell.stdout.toString()).not.toContain('never');
    expect(shell.stderr).toContain(`Portcullis: ${RM_MESSAGE}`);
    expect(existsSync(dir)).toBe(true);
    const script = await fx.ssh('ops+web01', ['bash', '-s'], { input: `x=${dir}\nr\\\nm -r -f "$x"` });
    expect(script.stderr).toContain(`Portcullis: ${RM_MESSAGE}`);
    expect(existsSync(dir)).toBe(true);
    const ok = await fx.ssh('ops+web01', ['sh'], { input: 'echo piped-$((2*3))\n' });
    expect(ok.stdout.toString()).toContain('piped-6');
  });

  it('stops an interactive rm -rf made from a history edit and one finished by tab completion; the shell goes on', async () => {
    const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1 bash --norc -i`, { cols: 120, rows: 40 });
    try {
      await t.waitFor(/\$\s*$/m);
      t.send(`ls -d ${dir}`);
      await t.waitFor(new RegExp(`^${dir}$`, 'm'));
      // Up brings back `ls -d DIR`; Home, two Deletes and typing make it `rm -rf -d DIR`.
      t.key('Up');
      t.key('Home');
      t.key('DC');
      t.key('DC');
      t.send('rm -rf', false);
      await t.waitFor(/rm -rf -d \/tmp\/pcg/);
      t.key('Enter');
      await t.waitFor(new RegExp(`Portcullis: ${RM_MESSAGE}`));
      expect(existsSync(dir)).toBe(true);
      t.send('echo "next-$((1+1))"');
      await t.waitFor(/^next-2$/m);

      // Tab completion: the typed keys say `rm -rf /tmp/pcgNNN-d`, the shell completes the name.
      t.send(`rm -rf ${dir.slice(0, -2)}\t`, false);
      await t.waitFor(new RegExp(`rm -rf ${dir}/?\\s*$`, 'm'));
      t.key('Enter');
      await t.waitFor(new RegExp(`Portcullis: ${RM_MESSAGE}[\\s\\S]*Portcullis: ${RM_MESSAGE}`));
      expect(existsSync(dir)).toBe(true);
      t.send('echo "still-$((2+2))"');
      await t.waitFor(/^still-4$/m);
    } finally {
      t.kill();
    }
    expect(existsSync(dir)).toBe(true);
  }, 60_000);
  it('stops a line typed with echo off at dash and edited by the tty (Ctrl-W), also when Enter is pressed again', async () => {
    const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1 sh`, { cols: 120, rows: 40 });
    try {
      await t.waitFor(/\$\s*$/m);
      t.send('stty -echo');
      await t.waitFor(/stty -echo\s*\n\$/);
      // Nothing is drawn: the tty erases `junk` and would hand dash `rm -rf DIR `.
      t.send(`rm -rf ${dir} junk`, false);
      t.key('C-w');
      t.key('Enter');
      await t.waitFor(/press Enter again/);
      await new Promise((r) => setTimeout(r, 500));
      t.key('Enter');
      await t.waitFor(new RegExp(`Portcullis: ${RM_MESSAGE}`));
      expect(existsSync(dir)).toBe(true);
      t.send('stty echo; echo "quiet-$((5+5))"');
      await t.waitFor(/quiet-10$/m);
    } finally {
      t.kill();
    }
    expect(existsSync(dir)).toBe(true);
  }, 60_000);
});

describe('command rules in the vendor browser terminal', () => {
  it('stops a typed rm -rf, shows the message and keeps the shell', async () => {
    const link = json<{ url: string }>(fx.gw.admin(['link', 'create', 'web01', '--ttl', '1h', '--label', 'guardrail test', '--json']));
    const browser = await launchChromium();
    try {
      const page = await (await newContext(browser)).newPage();
      const screen = (): Promise<string> => page.locator('#terminal .xterm-rows').innerText();
      await page.goto(link.url);
      await page.waitForSelector('#link-card');
      await page.click('#open');
      await page.waitForSelector('#terminal .xterm-rows');
      await waitFor('the shell prompt', async () => /\$\s*$/m.test(await screen()), 20_000);
      await page.click('#terminal');
      await page.keyboard.type(`rm -r -f ${dir}`);
      await page.keyboard.press('Enter');
      await waitFor('the refusal', async () => (await page.locator('#vendor-notice').innerText()).includes(`Portcullis: ${RM_MESSAGE}`), 20_000);
      expect(existsSync(dir)).toBe(true);
      await page.keyboard.type('echo "vendor-$((3*3))"');
      await page.keyboard.press('Enter');
      await waitFor('the next command', async () => /^vendor-9/m.test(await screen()), 20_000);
      expect(existsSync(dir)).toBe(true);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
