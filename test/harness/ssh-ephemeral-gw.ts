// The gateway side of the ephemeral-SSH e2e tests: one provisioner host (ssh-provisioner-host.ts)
// and one built gateway with a 1 s reconcile interval, users who log in with their own keys, and
// the real OpenSSH client through the gateway. Ephemeral users made through the gateway carry its
// grant ids in their comment (not the host's marker), so cleanup() finds them by the grant ids it
// handed out, then lets the host remove the rest.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, run, runOk, tempDir, waitFor } from './common.js';
import { type CliResult, type GatewayPeer, json, startGateway } from './gateway.js';
import { type ProvisionerHost, startProvisionerHost } from './ssh-provisioner-host.js';

export interface EphemeralRow { account: string; target: string; grant: string; user: string; level: string; state: string; expires_at: string }

export interface EphemeralSshWorld {
  host: ProvisionerHost;
  gw: GatewayPeer;
  dir: string;
  /** A Portcullis user with role ops whose ssh key is keyFile(name). */
  addUser(name: string): void;
  keyFile(name: string): string;
  grant(user: string, target: string, duration: string, level?: string): string;
  /** An ephemeral SSH target on the host, levels user= and admin=pcgrp_admin, provisioner by password. */
  addEphemeralTarget(name: string, extra?: string[]): void;
  /** `ssh LOGIN command` through the gateway with the user's key, waited for (async: the event loop runs). */
  ssh(user: string, login: string, command: string): Promise<{ status: number; stdout: string; stderr: string }>;
  /** A long-running ssh through the gateway; `ended` resolves with its exit code. */
  sshLong(user: string, login: string, command: string): { child: ChildProcess; ended: Promise<number> };
  ephemeral(target: string): EphemeralRow[];
  liveAccountOf(target: string, user: string): Promise<string>;
  cleanup(): Promise<void>;
}

export function must(r: CliResult): string {
  if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export async function startEphemeralSshWorld(): Promise<EphemeralSshWorld> {
  requireBinary('openssh-client', 'ssh');
  const dir = tempDir('sshephe2e');
  const host = await startProvisionerHost();
  let gw: GatewayPeer;
  try {
    gw = await startGateway({ env: { PORTCULLIS_EPHEMERAL_RECONCILE_INTERVAL: '1s' } });
  } catch (err) {
    await host.cleanup();
    throw err;
  }
  const grantIds: string[] = [];
  const clients: ChildProcess[] = [];
  const keyFile = (user: string): string => join(dir, `${user}_ed25519`);
  const sshArgs = (user: string, login: string, command: string): string[] => [
    '-i', keyFile(user), '-p', String(gw.ports.ssh), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', `${login}@127.0.0.1`, command,
  ];
  const sshLong: EphemeralSshWorld['sshLong'] = (user, login, command) => {
    const child = spawn('ssh', sshArgs(user, login, command), { stdio: ['pipe', 'pipe', 'pipe'] });
    clients.push(child);
    const ended = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    return { child, ended };
  };
  const ephemeral = (target: string): EphemeralRow[] => json<EphemeralRow[]>(gw.admin(['ephemeral', 'list', '--target', target, '--json']));
  const ourEphemeralUsers = (): string[] =>
    readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'))
      .filter((f) => /^pcx_[a-z2-7]{12}$/.test(f[0] ?? '') && grantIds.some((g) => (f[4] ?? '').includes(g))).map((f) => f[0]!);
  return {
    host, gw, dir, keyFile, ephemeral, sshLong,
    addUser: (name) => {
      runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile(name)]);
      must(gw.admin(['user', 'add', name, '--role', 'ops', '--password-stdin', '--ssh-key', `${keyFile(name)}.pub`], `${name}-Password-1\n`));
    },
    grant: (user, target, duration, level) => {
      const g = json<{ id: string }>(gw.admin(['grant', 'add', '--user', user, '--target', target, '--for', duration, '--reason', 'e2e',
        ...(level ? ['--level', level] : []), '--json']));
      grantIds.push(g.id);
      return g.id;
    },
    addEphemeralTarget: (name, extra = []) => {
      must(gw.admin(['target', 'add', name, '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(host.port),
        '--account', host.provisioner.user, '--password-stdin', '--host-key', host.hostKeyFingerprint, '--credential', 'ephemeral',
        '--level', 'user=', '--level', 'admin=pcgrp_admin', ...extra], `${host.provisioner.password}\n`));
    },
    ssh: async (user, login, command) => {
      const s = sshLong(user, login, command);
      let stdout = '';
      let stderr = '';
      s.child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
      s.child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
      s.child.stdin?.end();
      const timer = setTimeout(() => s.child.kill('SIGKILL'), 60_000);
      const status = await s.ended;
      clearTimeout(timer);
      return { status, stdout, stderr };
    },
    liveAccountOf: async (target, user) => {
      let account = '';
      await waitFor(`an active ephemeral account for ${user} on ${target}`, () => {
        account = ephemeral(target).find((e) => e.user === user && e.state === 'active')?.account ?? '';
        return account !== '';
      }, 20_000);
      return account;
    },
    cleanup: async () => {
      for (const c of clients) c.kill('SIGKILL');
      for (const u of ourEphemeralUsers()) {
        for (let i = 0; i < 10 && run('pkill', ['-KILL', '-u', u]).status === 0; i++) runOk('sleep', ['0.1']);
        run('userdel', ['-f', '-r', u]);
        run('groupdel', [u]);
        run('rm', ['-rf', `/home/${u}`]);
      }
      await gw.stop();
      await host.cleanup();
    },
  };
}
