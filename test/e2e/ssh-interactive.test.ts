// Interactive shells under a real terminal (tmux driving OpenSSH with a pty): what the user types
// and sees, keystroke recording with the password prompt masked, a recording asciinema plays, the
// grant menu, and keyboard-interactive login with a one-time code.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpAt } from '../../gateway/access/totp.js';
import { requireBinary, runOk, waitFor } from '../harness/common.js';
import { type SshFixture, Tmux, startSshFixture } from '../harness/ssh-fixture.js';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';

let fx: SshFixture;

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

function castFiles(): string[] {
  const root = recordingsRoot(fx.gw.dataDir);
  return readdirSync(root).flatMap((s) => { const layout = RecordingLayout.of(root, s); return layout.castChannels().map((n) => layout.cast(n)); });
}

describe('interactive ssh through Portcullis', () => {
  it('gives a working terminal, records typed commands, and masks what is typed at a password prompt', async () => {
    const ssh = `ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops+web01@127.0.0.1`;
    const t = Tmux.start(ssh, { cols: 120, rows: 40 });
    try {
      await t.waitFor(/\$\s*$/m);
      t.send('echo "cols=$(tput cols) term=$TERM"');
      await t.waitFor(/cols=120 term=\S+/);
      t.send('read -s -p "Password: " secret; echo; echo "got ${#secret} chars"');
      // The prompt on a line of its own: the typed command line also contains "Password:".
      await t.waitFor(/^Password: ?$/m);
      t.send('TopSecretTyped99');
      await t.waitFor(/got 16 chars/);
      t.send('exit 0');
      // The gateway's record of the end is what matters here (tmux is sometimes slow to see the exit).
      await waitFor('the session to end', () => (JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ end_reason: string | null }>)
        .some((s) => s.end_reason === 'closed-by-client'), 20_000);
    } finally {
      t.kill();
    }
    const casts = castFiles();
    expect(casts.length).toBeGreaterThan(0);
    const cast = readFileSync(casts[casts.length - 1]!, 'utf8');
    const header = JSON.parse(cast.split('\n')[0]!) as { version: number; width: number; height: number };
    expect(header).toMatchObject({ version: 2, width: 120, height: 40 });
    const inputs = cast.split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l) as [number, string, string]).filter((e) => e[1] === 'i').map((e) => e[2]).join('');
    expect(inputs).toContain('echo "cols=$(tput cols)');
    expect(inputs).toContain('****************');
    expect(cast).not.toContain('TopSecretTyped99');
    expect(cast).toContain('"m","masked input"');
    expect(cast).not.toContain(fx.sshd.password);
  });

  it('writes recordings that asciinema can play', () => {
    const asciinema = requireBinary('asciinema', 'asciinema');
    // asciinema insists on a terminal even for `cat`; script(1) gives it one.
    const out = runOk('script', ['-qec', `${asciinema} cat ${castFiles()[0]!}`, '/dev/null']);
    expect(out).toMatch(/got 16 chars/);
  });

  it('offers a menu when the user holds several SSH grants and names no target', async () => {
    fx.gw.admin(['target', 'add', 'web02', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(fx.sshd.port), '--account', fx.sshd.user,
      '--password-stdin', '--host-key', fx.sshd.hostKeyFingerprint], `${fx.sshd.password}\n`);
    fx.grant('ops', 'web02', '20m');
    const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'BatchMode=yes']).join(' ')} ops@127.0.0.1`);
    try {
      const screen = await t.waitFor(/Number:/);
      expect(screen).toMatch(/1\) web0[12] .*\n.*2\) web0[12]/);
      const line = screen.split('\n').find((l) => l.includes(') web02'))!;
      t.send(line.trim().split(')')[0]!);
      await t.waitFor(/\$\s*$/m);
      t.send('echo "menu-picked"; exit');
      await t.waitFor(/^menu-picked/m);
    } finally {
      t.kill();
    }
    const sessions = JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ target: string }>;
    expect(sessions.some((s) => s.target === 'web02')).toBe(true);
  });

  it('asks for password and one-time code by keyboard-interactive when the user has TOTP', async () => {
    const enrol = fx.gw.admin(['user', 'totp', 'ops', '--json']);
    const secret = /secret=([A-Z2-7]+)/.exec(enrol.stdout)![1]!;
    try {
      const t = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-o', 'PubkeyAuthentication=no', '-o', 'LogLevel=INFO']).join(' ')} ops+web01@127.0.0.1`);
      try {
        await t.waitFor(/Password:/);
        t.send('ops-Password-1');
        await t.waitFor(/Verification code \(one-time password\):/);
        t.send(totpAt(secret, Date.now()));
        await t.waitFor(/\$\s*$/m);
        t.send('echo "totp-ok"; exit');
        await t.waitFor(/^totp-ok/m);
      } finally {
        t.kill();
      }
      // With a key, the key is the first factor and the code the second.
      const k = Tmux.start(`ssh ${fx.sshOpts(['-tt', '-i', fx.opsKey, '-o', 'LogLevel=INFO']).join(' ')} ops+web01@127.0.0.1`);
      try {
        await k.waitFor(/Verification code:/);
        await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 100));
        k.send(totpAt(secret, Date.now()));
        await k.waitFor(/\$\s*$/m);
        k.send('exit');
      } finally {
        k.kill();
      }
    } finally {
      fx.gw.admin(['user', 'totp', 'ops', '--remove']);
    }
  }, 90_000);
});
