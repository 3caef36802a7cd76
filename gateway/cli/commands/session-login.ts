// login, logout, whoami.
import { certPaths } from '../../../certs/ca.js';
import { defaultDataDir } from '../../config/data-dir.js';
import { readFileSync, existsSync } from 'node:fs';
import { ApiClient } from '../api-client.js';
import { type Command, usage } from '../command.js';
import { removeLogin, saveLogin, serverInfo } from '../connection.js';
import { printOne } from '../output.js';
import { readStdinLines } from '../stdin.js';

export const loginCmd: Command = async (c) => {
  const user = c.flags.opt('user');
  if (!user) usage('portcullis login --server URL --user NAME [--ca FILE] --password-stdin  (stdin: password, then the one-time code if enrolled)');
  const dataDir = c.data ?? defaultDataDir(c.env);
  const local = serverInfo(dataDir);
  const url = c.flags.opt('server') ?? c.env.PORTCULLIS_URL ?? local?.url;
  if (!url) usage('portcullis login --server URL --user NAME (no running gateway found locally)');
  const caFile = c.flags.opt('ca') ?? c.env.PORTCULLIS_CA ?? (existsSync(certPaths(dataDir).caCert) ? certPaths(dataDir).caCert : undefined);
  const caPem = caFile ? readFileSync(caFile, 'utf8') : null;
  if (!c.flags.bool('password-stdin')) usage('portcullis login ... --password-stdin (passwords are read from standard input)');
  const [password = '', totp] = await readStdinLines(c.stdin);
  const api = new ApiClient({ url, token: null, caPem });
  const r = await api.post<{ token: string; user: string; roles: string[]; expires_at: string }>('/api/v1/login', {
    user, password, totp: totp?.trim() || c.flags.opt('totp') || undefined,
  });
  const file = saveLogin(c.env, { url, token: r.token, caPem, user: r.user, expiresAt: r.expires_at });
  if (c.json) printOne(c.out, true, { user: r.user, roles: r.roles, expires_at: r.expires_at });
  else c.out.write(`logged in to ${url} as ${r.user} until ${r.expires_at} (token saved in ${file})\n`);
  return 0;
};

export const logoutCmd: Command = (c) => {
  removeLogin(c.env);
  if (!c.json) c.out.write('logged out\n');
  return Promise.resolve(0);
};

export const whoamiCmd: Command = async (c) => {
  printOne(c.out, c.json, await c.api().get('/api/v1/whoami'));
  return 0;
};
