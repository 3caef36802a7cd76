// A real OpenSSH server for tests: its own config, host key and port, in a temp dir. The test
// account is an OS user (created once, as root) with a password and an authorized key.
import { chmodSync, mkdirSync, readFileSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { type Proc, withFreshPort, portOpen, requireBinary, run, runOk, startProc, tempDir, waitFor } from './common.js';

export const SSH_TEST_USER = 'pctest';

export interface SshdPeer {
  port: number;
  user: string;
  password: string;
  /** Private key (OpenSSH format) whose public half is authorized for the test user. */
  clientKeyFile: string;
  hostKeyFingerprint: string;
  dir: string;
  stop(): Promise<void>;
}

function ensureOsUser(user: string, password: string): string {
  if (run('id', ['-u', user]).status !== 0) runOk('useradd', ['-m', '-s', '/bin/bash', user]);
  runOk('chpasswd', [], { input: `${user}:${password}\n` });
  return runOk('sh', ['-c', `getent passwd ${user} | cut -d: -f6`]).trim();
}

export async function startSshd(): Promise<SshdPeer> {
  const sshd = requireBinary('openssh-server', '/usr/sbin/sshd');
  const keygen = requireBinary('openssh-client', 'ssh-keygen');
  const dir = tempDir('sshd');
  const password = 'pctest-Password-1';
  const home = ensureOsUser(SSH_TEST_USER, password);
  mkdirSync('/run/sshd', { recursive: true });
  const hostKey = join(dir, 'host_ed25519');
  runOk(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const clientKey = join(dir, 'client_ed25519');
  runOk(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  const authKeys = join(dir, 'authorized_keys');
  writeFileSync(authKeys, readFileSync(clientKey + '.pub'));
  chmodSync(dir, 0o755);
  chmodSync(authKeys, 0o644);
  mkdirSync(home, { recursive: true });
  const uid = Number(runOk('id', ['-u', SSH_TEST_USER]).trim());
  chownSync(home, uid, uid);
  const fp = runOk(keygen, ['-l', '-f', hostKey + '.pub']).split(' ')[1]!;
  const config = join(dir, 'sshd_config');
  return withFreshPort(async (port) => {
    writeFileSync(config, [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes',
      `AuthorizedKeysFile ${authKeys}`, 'StrictModes no', 'PermitRootLogin no', `AllowUsers ${SSH_TEST_USER}`,
      'Subsystem sftp internal-sftp', 'AllowTcpForwarding yes', 'LogLevel VERBOSE', 'MaxStartups 100:30:200', 'MaxSessions 20', '',
    ].join('\n'));
    const proc: Proc = startProc(sshd, ['-D', '-e', '-f', config]);
    await waitFor('sshd to listen', () => portOpen(port), 20_000, proc);
    return { port, user: SSH_TEST_USER, password, clientKeyFile: clientKey, hostKeyFingerprint: fp, dir, stop: () => proc.stop() };
  });
}
