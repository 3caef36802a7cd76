// login, logout, whoami, passwd.
import { certPaths } from '../../../certs/ca.js';
import { defaultDataDir } from '../../config/data-dir.js';
import { readFileSync, existsSync } from 'node:fs';
import { ApiClient } from '../api-client.js';
import type { PasswordChanged } from '../../api-types.js';
import { type Command, enc, usage } from '../command.js';
import { removeLogin, saveLogin, serverInfo, storedLoginInUse } from '../connection.js';
import { afterSignIn } from '../after-sign-in.js';
import { removeSshFiles } from '../ssh-files.js';
import { isPortcullisError } from '../../util/errors.js';
import { printOne } from '../output.js';
import { readStdinLines } from '../stdin.js';
import { ssoLoginCmd } from './sso-login.js';

export const loginCmd: Command = async (c) => {
  if (c.flags.bool('sso')) return ssoLoginCmd(c);
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
  const login = { url, token: r.token, caPem, user: r.user, expiresAt: r.expires_at };
  const file = saveLogin(c.env, login);
  if (c.json) printOne(c.out, true, { user: r.user, roles: r.roles, expires_at: r.expires_at });
  else c.out.write(`logged in to ${url} as ${r.user} until ${r.expires_at} (token saved in ${file})\n`);
  await afterSignIn(c, login);
  return 0;
};

/**
 * Ends the stored sign-in on the gateway (its token is revoked, so the SSH certificates issued
 * from it stop working on every node), then removes the saved login, the SSH key and certificate.
 * An unreachable gateway does not keep the files: they go, and the warning says the token lives
 * on until it expires.
 */
export const logoutCmd: Command = async (c) => {
  const stored = storedLoginInUse(c.env, undefined);
  let revoked = true;
  if (stored) {
    revoked = await new ApiClient({ url: stored.url, token: stored.token, caPem: stored.caPem })
      .post('/api/v1/web/logout').then(() => true, (err: unknown) => {
        // Already ended on the gateway (expired, revoked, password changed): nothing left to revoke.
        if (isPortcullisError(err) && err.code === 'unauthenticated') return true;
        c.out.error(`portcullis: warning: could not end the sign-in on the gateway (${isPortcullisError(err) ? err.message : String(err)}); its token stays valid until ${stored.expiresAt}\n`);
        return false;
      });
  }
  removeLogin(c.env);
  removeSshFiles(c.env);
  if (!c.json) c.out.write('logged out\n');
  return revoked ? 0 : 1;
};

export const whoamiCmd: Command = async (c) => {
  printOne(c.out, c.json, await c.api().get('/api/v1/whoami'));
  return 0;
};

/**
 * Changes one's own password. The gateway ends every token and web session of the user, this
 * command's own included, and answers with a fresh token: saved in place of the stored login, or
 * dropped (never printed) when the command ran on a token from the environment.
 */
export const passwdCmd: Command = async (c) => {
  if (!c.flags.bool('password-stdin')) usage('portcullis passwd --password-stdin  (stdin: current password, new password, then the one-time code if enrolled)');
  const [current = '', password = '', totp] = await readStdinLines(c.stdin);
  if (!current || !password) usage('portcullis passwd --password-stdin  (stdin: current password, new password, then the one-time code if enrolled)');
  const api = c.api();
  const who = await api.get<{ name: string }>('/api/v1/whoami');
  const r = await api.post<PasswordChanged>(`/api/v1/users/${enc(who.name)}/password`, { current_password: current, password, totp: totp?.trim() || undefined });
  const stored = storedLoginInUse(c.env, c.data);
  const kept = Boolean(r.token && r.expires_at && stored);
  if (kept && stored && r.token && r.expires_at) saveLogin(c.env, { ...stored, token: r.token, expiresAt: r.expires_at });
  if (c.json) {
    printOne(c.out, true, { updated: r.updated, tokens_revoked: r.tokens_revoked, login_kept: kept });
    return 0;
  }
  c.out.write(`password changed for ${r.updated}; ${r.tokens_revoked} other token(s) and web session(s) ended\n`);
  c.out.write(kept ? 'this login goes on with a new token\n' : 'the token this command used has ended too: log in again (portcullis login)\n');
  return 0;
};
