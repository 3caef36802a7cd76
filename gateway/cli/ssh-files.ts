// Where the CLI keeps what a sign-in leaves for plain OpenSSH: a key pair, its certificate and the
// gateway's pinned host key, in ssh/ beside the saved login ($PORTCULLIS_HOME or ~/.portcullis).
// Written by after-sign-in.ts and ssh-config, removed by logout.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loginFile } from './connection.js';

export interface SshFiles {
  dir: string;
  key: string;
  pub: string;
  cert: string;
  knownHosts: string;
}

export function sshFiles(env: NodeJS.ProcessEnv): SshFiles {
  const dir = join(dirname(loginFile(env)), 'ssh');
  const key = join(dir, 'id_ed25519');
  return { dir, key, pub: key + '.pub', cert: key + '-cert.pub', knownHosts: join(dir, 'known_hosts') };
}

/** Removes the key, its certificate and the pinned host key (logout). */
export function removeSshFiles(env: NodeJS.ProcessEnv): void {
  const f = sshFiles(env);
  for (const p of [f.key, f.pub, f.cert, f.knownHosts]) rmSync(p, { force: true });
}
