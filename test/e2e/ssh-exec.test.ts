// Plain OpenSSH `ssh host cmd` through the gateway to a real sshd: exit codes, signals, stdin,
// stderr, logins by key and password, and refusals that say what to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run, waitFor } from '../harness/common.js';
import { type SshFixture, readRecordings, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;

beforeAll(async () => {
  fx = await startSshFixture();
  fx.grant('ops', 'web01', '30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

describe('ssh commands through Portcullis', () => {
  it('runs a command as the vaulted account and returns its exit code', async () => {
    const r = await fx.ssh('ops+web01', ['echo "I am $(whoami)"; exit 3']);
    expect(r.stdout.toString()).toBe(`I am ${fx.sshd.user}\n`);
    expect(r.status).toBe(3);
  });

  it('pipes stdin through and keeps stderr apart', async () => {
    const input = Buffer.from('line one\nline two\n'.repeat(1000));
    const r = await fx.ssh('ops+web01', ['cat; echo oops >&2'], { input });
    expect(r.status).toBe(0);
    expect(r.stdout.equals(input)).toBe(true);
    expect(r.stderr).toBe('oops\n');
  });

  it('reports death by signal the way OpenSSH does', async () => {
    const r = await fx.ssh('ops+web01', ['kill -TERM $$']);
    expect(r.status).toBe(255);
  });

  it('logs in with a password as well as a key', () => {
    const sshpass = requireBinary('sshpass', 'sshpass');
    const r = run(sshpass, ['-e', 'ssh', ...fx.sshOpts(['-o', 'PubkeyAuthentication=no']), 'ops+web01@127.0.0.1', 'echo by-password'],
      { env: { ...process.env, SSHPASS: 'ops-Password-1' } });
    expect(r.stdout).toBe('by-password\n');
    const wrong = run(sshpass, ['-e', 'ssh', ...fx.sshOpts(['-o', 'PubkeyAuthentication=no']), 'ops+web01@127.0.0.1', 'true'],
      { env: { ...process.env, SSHPASS: 'not-it' } });
    expect(wrong.status).not.toBe(0);
  });

  it('connects straight away without a target when the user holds exactly one SSH grant', async () => {
    const r = await fx.ssh('ops', ['echo only-one']);
    expect(r.stdout.toString()).toBe('only-one\n');
  });

  it('refuses a target without a grant, naming the way to request one, and audits it', async () => {
    fx.gw.admin(['target', 'add', 'web02', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(fx.sshd.port), '--account', fx.sshd.user,
      '--password-stdin', '--host-key', fx.sshd.hostKeyFingerprint], `${fx.sshd.password}\n`);
    const r = await fx.ssh('ops+web02', ['echo must-not-run'], { extra: ['-o', 'BatchMode=no', '-o', 'LogLevel=INFO', '-o', 'PreferredAuthentications=publickey,keyboard-interactive'] });
    expect(r.status).toBe(255);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toMatch(/Portcullis: no active grant for ops on web02; request one with: portcullis request web02 --for 30m/);
    const audit = fx.gw.admin(['audit', 'export']).stdout;
    expect(audit).toMatch(/"code":"access.denied".*"target":"web02"/);
  });

  it('refuses an unknown target and a disabled user with a message', async () => {
    const opts = { extra: ['-o', 'BatchMode=no', '-o', 'LogLevel=INFO', '-o', 'PreferredAuthentications=publickey,keyboard-interactive'] };
    expect((await fx.ssh('ops+nowhere', ['true'], opts)).stderr).toMatch(/no ssh target "nowhere"/);
    fx.gw.admin(['user', 'disable', 'ops']);
    try {
      const r = await fx.ssh('ops+web01', ['true'], opts);
      expect(r.status).toBe(255);
      expect(r.stderr).toMatch(/account ops is disabled; ask a Portcullis admin/);
    } finally {
      fx.gw.admin(['user', 'enable', 'ops']);
      // Disabling revoked ops's grants (enabling gives none back): the tests below need one again.
      fx.grant('ops', 'web01', '30m');
    }
  });

  it('records each exec with its command, exit status, byte counts and digests, and never the vaulted password', async () => {
    await fx.ssh('ops+web01', ['printf recorded-output; exit 4']);
    // The summary is written when the session's recording closes, just after the client leaves.
    // (The command is also in its cast's header: ssh-no-pty-input.test.ts checks the cast.)
    const summary = (l: string): boolean => l.includes('"kind":"exec"') && l.includes('printf recorded-output');
    await waitFor('the exec summary', () => readRecordings(fx.gw.dataDir).split('\n').some(summary), 5000);
    const rec = readRecordings(fx.gw.dataDir);
    const line = rec.split('\n').find(summary)!;
    const ev = JSON.parse(line) as { exit: { code: number }; stdout: { bytes: number; sha256: string; head: string } };
    expect(ev.exit.code).toBe(4);
    expect(ev.stdout).toMatchObject({ bytes: 15, head: 'recorded-output' });
    expect(ev.stdout.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rec).not.toContain(fx.sshd.password);
    expect(fx.gw.log()).not.toContain(fx.sshd.password);
  });

  it('ends sessions with a recorded reason', () => {
    const sessions = JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ end_reason: string | null; user: string; target: string }>;
    expect(sessions.length).toBeGreaterThan(3);
    expect(sessions.filter((s) => s.end_reason !== null).every((s) => s.end_reason === 'closed-by-client')).toBe(true);
    expect(sessions[0]).toMatchObject({ user: 'ops', target: 'web01' });
  });
});
