// `portcullis ssh-config [--alias NAME]`: prints an OpenSSH `Host` block that logs in to the
// gateway with the key and certificate `portcullis login` left, and writes the gateway's host key
// into a known_hosts file of its own (read from the API over the TLS connection the login
// verified), so the first ssh connection is pinned, not trust-on-first-use. The target goes in the
// user name as everywhere else: `ssh alice+web01@portcullis` (or `ssh portcullis` for the menu).
// Prints only the block and comments, so `portcullis ssh-config >> ~/.ssh/config` works.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { PortcullisError } from '../../util/errors.js';
import { ApiClient } from '../api-client.js';
import { type Command, usage } from '../command.js';
import { storedLoginInUse } from '../connection.js';
import { sshFiles } from '../ssh-files.js';

interface SshInfo { host: string; port: number; user: string; host_key: string }

const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/;
const HOST = /^[A-Za-z0-9.:_-]{1,253}$/;

export const sshConfigCmd: Command = async (c) => {
  const alias = c.flags.opt('alias') ?? 'portcullis';
  if (!ALIAS.test(alias)) usage('portcullis ssh-config [--alias NAME]  (NAME: letters, digits, ".", "_", "-")');
  const login = storedLoginInUse(c.env, c.data);
  if (!login) throw new PortcullisError('unauthenticated', 'no saved sign-in: run "portcullis login" first (it leaves the SSH key and certificate this block uses)');
  const f = sshFiles(c.env);
  if (!existsSync(f.cert)) throw new PortcullisError('not-found', `no SSH certificate in ${f.dir}: run "portcullis login" again`);
  const info = await new ApiClient({ url: login.url, token: login.token, caPem: login.caPem }).get<SshInfo>('/api/v1/ssh/info');
  // What goes into ssh's config and known_hosts is checked: a gateway answer cannot add directives.
  if (!HOST.test(info.host) || !Number.isInteger(info.port) || info.port < 1 || info.port > 65535 || !HOST_KEY.test(info.host_key) || !ALIAS.test(info.user)) {
    throw new PortcullisError('internal', 'the gateway sent SSH settings that do not look right; not writing them');
  }
  const hostPattern = info.port === 22 ? info.host : `[${info.host}]:${info.port}`;
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  writeFileSync(f.knownHosts, `${hostPattern} ${info.host_key}\n`, { mode: 0o644 });
  c.out.write([
    `# Portcullis gateway ${login.url}, signed in as ${info.user}. Use: ssh ${info.user}+TARGET@${alias} (or ssh ${alias} for a menu of your grants)`,
    `Host ${alias}`,
    `  HostName ${info.host}`,
    `  Port ${info.port}`,
    `  User ${info.user}`,
    `  IdentityFile ${quote(f.key)}`,
    `  CertificateFile ${quote(f.cert)}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${quote(f.knownHosts)}`,
    '  StrictHostKeyChecking yes',
    '',
  ].join('\n'));
  return 0;
};

/** ssh_config takes a path with spaces in double quotes. */
function quote(path: string): string {
  return /[\s"]/.test(path) ? `"${path.replace(/"/g, '')}"` : path;
}
