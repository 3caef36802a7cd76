// Command rules with real OpenSSH against a real sshd through the gateway: an exec `shutdown -h
// now` is refused with a non-zero exit and the rule's message on stderr, an allowed exec runs; at
// an interactive bash (tmux driving `ssh -tt`) a `rm -rf` made by editing a history line (Up,
// Home, Delete, typing) or finished with tab completion is stopped before its Enter reaches the
// target: the directory survives, the user sees the message and the shell goes on.
// Rules are written into the gateway's store directly (the CLI for rules is built elsewhere) and
// the gateway restarted so its rule book has them.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, chownSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../harness/common.js';
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
});
