// The SSH test fixture: a real sshd, a real gateway, a user "ops" with a password and a key, and a
// target "web01" whose vaulted credential is the sshd test account's password. Helpers drive the
// real OpenSSH client (ssh, scp, sftp) and, for interactive use, tmux.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, run, runOk, tempDir, waitFor } from './common.js';
import { adminIn } from './cli-in-process.js';
import { type GatewayPeer, json, startGateway } from './gateway.js';
import { type SshdPeer, startSshd } from './sshd.js';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';
import { readRecordingMeta } from '../../recorder/meta.js';

export interface SshFixture {
  gw: GatewayPeer;
  sshd: SshdPeer;
  dir: string;
  opsKey: string;
  /** Common OpenSSH options for the gateway's SSH port. */
  sshOpts(extra?: string[]): string[];
  /** Runs ssh through the gateway with the ops key; returns status and output. */
  ssh(login: string, command: string[], opts?: { input?: string | Buffer; extra?: string[] }): Promise<{ status: number; stdout: Buffer; stderr: string }>;
  grant(user: string, target: string, duration: string): string;
  stop(): Promise<void>;
}

export async function startSshFixture(env: NodeJS.ProcessEnv = {}): Promise<SshFixture> {
  const ssh = requireBinary('openssh-client', 'ssh');
  const [gw, sshd] = await Promise.all([startGateway({ env }), startSshd()]);
  const dir = tempDir('sshfx');
  const opsKey = join(dir, 'ops_ed25519');
  runOk(requireBinary('openssh-client', 'ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-f', opsKey]);
  const add = gw.admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin', '--ssh-key', opsKey + '.pub'], 'ops-Password-1\n');
  if (add.code !== 0) throw new Error(add.stderr);
  const t = gw.admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
    '--password-stdin', '--host-key', sshd.hostKeyFingerprint], `${sshd.password}\n`);
  if (t.code !== 0) throw new Error(t.stderr);
  const sshOpts = (extra: string[] = []): string[] => [
    '-p', String(gw.ports.ssh), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', ...extra,
  ];
  return {
    gw, sshd, dir, opsKey, sshOpts,
    ssh: (login, command, opts = {}) => new Promise((resolve) => {
      // OpenSSH keeps the first value given for an option, so per-call options go first.
      const child = spawn(ssh, [...(opts.extra ?? []), ...sshOpts(['-i', opsKey, '-o', 'BatchMode=yes']), `${login}@127.0.0.1`, ...command]);
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.stdin.end(opts.input ?? '');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => { clearTimeout(timer); resolve({ status: code ?? -1, stdout: Buffer.concat(out), stderr: err }); });
    }),
    grant: (user, target, duration) => json<{ id: string }>(gw.admin(['grant', 'add', '--user', user, '--target', target, '--for', duration, '--reason', 'test', '--json'])).id,
    stop: async () => { await Promise.all([gw.stop(), sshd.stop()]); },
  };
}

/** A tmux session running one command in a real terminal, for interactive tests. */
export class Tmux {
  private constructor(readonly name: string, private readonly socket: string) {}

  static start(command: string, size = { cols: 100, rows: 30 }): Tmux {
    const tmux = requireBinary('tmux', 'tmux');
    const name = `pc${process.pid}${Math.floor(Math.random() * 1e6)}`;
    const socket = join(tempDir('tmux'), 'sock');
    runOk(tmux, ['-S', socket, 'new-session', '-d', '-s', name, '-x', String(size.cols), '-y', String(size.rows), command]);
    runOk(tmux, ['-S', socket, 'set-option', '-t', name, 'remain-on-exit', 'on']);
    return new Tmux(name, socket);
  }

  screen(): string {
    return run('tmux', ['-S', this.socket, 'capture-pane', '-p', '-t', this.name, '-S', '-200']).stdout;
  }

  send(keys: string, enter = true): void {
    // tmux reads a trailing ";" in an argument as its own command separator: escape it.
    runOk('tmux', ['-S', this.socket, 'send-keys', '-t', this.name, '-l', keys.endsWith(';') ? keys.slice(0, -1) + '\\;' : keys]);
    if (enter) runOk('tmux', ['-S', this.socket, 'send-keys', '-t', this.name, 'Enter']);
  }

  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<string> {
    let last = '';
    try {
      await waitFor(`screen to show ${re}`, () => re.test((last = this.screen())), timeoutMs);
    } catch {
      throw new Error(`screen never showed ${re}; it shows:\n${last}`);
    }
    return last;
  }

  /** The exit status of the pane's command once it has exited, else null. */
  exitStatus(): number | null {
    const r = run('tmux', ['-S', this.socket, 'display-message', '-p', '-t', this.name, '#{pane_dead} #{pane_dead_status}']).stdout.trim();
    const [dead, status] = r.split(' ');
    if (dead !== '1') return null;
    if (status !== undefined && status !== '') return Number(status);
    // tmux 3.3 sometimes leaves the format empty; with remain-on-exit it also prints the status.
    const m = /Pane is dead \(status (\d+)/.exec(this.screen());
    return m ? Number(m[1]) : null;
  }

  /** Sends a named key such as C-c. */
  key(name: string): void {
    runOk('tmux', ['-S', this.socket, 'send-keys', '-t', this.name, name]);
  }

  kill(): void {
    run('tmux', ['-S', this.socket, 'kill-server']);
  }
}

/** Waits until the latest session's recording is closed (meta.json gets its end last). */
export async function latestClosedSession(gw: GatewayPeer): Promise<string> {
  let id = '';
  // The CLI in process: a spawned one per poll costs ~1 s and blocks the test's event loop.
  await waitFor('the recording to close', async () => {
    const list = JSON.parse((await adminIn(gw, ['session', 'list', '--json'])).stdout) as Array<{ id: string; end_reason: string | null }>;
    const s = list.find((x) => x.end_reason);
    if (!s) return false;
    id = s.id;
    try {
      return Boolean(readRecordingMeta(RecordingLayout.inDataDir(gw.dataDir, s.id).meta)?.end_reason);
    } catch {
      return false;
    }
  }, 20_000);
  return id;
}

export function readRecordings(dataDir: string): string {
  const root = recordingsRoot(dataDir);
  const files = readdirSync(root).flatMap((id) => {
    const layout = RecordingLayout.of(root, id);
    return [...layout.castChannels().map((n) => layout.cast(n)), layout.events];
  });
  return files.map((f) => { try { return readFileSync(f, 'utf8'); } catch { return ''; } }).join('');
}
