// `portcullis login --sso`: sign in through the browser. The CLI begins a login handoff, prints the
// console's approval URL and a short code (and opens the browser when there is one), then polls
// with the secret only it holds until the person approves, denies, or the ten minutes run out. The
// approval happens where the person is signed in (by password or by single sign-on), so the CLI
// never sees a password. It then saves the login like a password login and runs afterSignIn.
// Ctrl-C stops the wait cleanly (exit 130); nothing is left behind but a handoff that expires.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { certPaths } from '../../../certs/ca.js';
import type { LoginBegun, LoginPoll } from '../../api-types.js';
import { defaultDataDir } from '../../config/data-dir.js';
import { PortcullisError, isPortcullisError } from '../../util/errors.js';
import { terminalSafe } from '../../util/terminal-safe.js';
import { afterSignIn } from '../after-sign-in.js';
import { ApiClient } from '../api-client.js';
import { type Command, type CommandContext, usage } from '../command.js';
import { saveLogin, serverInfo } from '../connection.js';
import { printOne } from '../output.js';

const USAGE = 'portcullis login --sso [--server URL] [--ca FILE] [--no-browser]';
const POLL_MS = 1_000;

export const ssoLoginCmd: Command = async (c) => {
  const dataDir = c.data ?? defaultDataDir(c.env);
  const url = c.flags.opt('server') ?? c.env.PORTCULLIS_URL ?? serverInfo(dataDir)?.url;
  if (!url) usage(`${USAGE} (no running gateway found locally)`);
  const caFile = c.flags.opt('ca') ?? c.env.PORTCULLIS_CA ?? (existsSync(certPaths(dataDir).caCert) ? certPaths(dataDir).caCert : undefined);
  const caPem = caFile ? readFileSync(caFile, 'utf8') : null;
  const noBrowser = c.flags.bool('no-browser');
  const api = new ApiClient({ url, token: null, caPem });

  const begun = await api.post<LoginBegun>('/api/v1/logins', { kind: 'cli' });
  // What the gateway sent is shown to a terminal: no escape sequence of its gets through.
  const page = terminalSafe(begun.url);
  const code = terminalSafe(begun.code);
  c.out.error(`To sign in, open this page in the browser where you are signed in to Portcullis:\n\n  ${page}\n\n`
    + `Check that it shows the code ${code}, then approve. Waiting (until ${terminalSafe(begun.expires_at)}; Ctrl-C stops)...\n`);
  // Only a web address is handed to the browser opener: xdg-open runs whatever handler a scheme
  // names, and the address comes from the server.
  if (!noBrowser && /^https?:\/\/\S+$/.test(begun.url) && begun.url === terminalSafe(begun.url)) openBrowser(c.env, begun.url);

  const r = await waitForApproval(c, api, begun);
  if (r === 'cancelled') {
    c.out.error('sign-in cancelled\n');
    return 130;
  }
  const login = { url, token: r.token, caPem, user: r.user, expiresAt: r.expires_at ?? '' };
  const file = saveLogin(c.env, login);
  if (c.json) printOne(c.out, true, { user: r.user, roles: r.roles, expires_at: r.expires_at });
  else c.out.write(`logged in to ${url} as ${terminalSafe(r.user)} until ${terminalSafe(r.expires_at ?? 'revoked')} (token saved in ${file})\n`);
  await afterSignIn(c, login);
  return 0;
};

type Approved = Extract<LoginPoll, { state: 'approved' }>;

async function waitForApproval(c: CommandContext, api: ApiClient, begun: LoginBegun): Promise<Approved | 'cancelled'> {
  const deadline = Date.parse(begun.expires_at);
  let cancel: () => void = () => {};
  const cancelled = new Promise<'cancelled'>((resolve) => { cancel = () => resolve('cancelled'); });
  process.once('SIGINT', cancel);
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const next = await Promise.race([cancelled, new Promise<'tick'>((resolve) => { timer = setTimeout(() => resolve('tick'), POLL_MS); })]);
      if (next === 'cancelled') return next;
      let r: LoginPoll;
      try {
        r = await api.post<LoginPoll>(`/api/v1/logins/${encodeURIComponent(begun.id)}/poll`, { secret: begun.poll_secret });
      } catch (err) {
        // A gateway restarting or a node going away: keep polling (the handoff lives in the store).
        if (isPortcullisError(err) && err.code === 'unavailable' && Date.now() < deadline) continue;
        if (isPortcullisError(err) && err.code === 'not-found') throw expired();
        throw err;
      }
      switch (r.state) {
        case 'approved': return r;
        case 'pending':
          if (Date.now() >= deadline) throw expired();
          continue;
        case 'denied': throw new PortcullisError('forbidden', 'the sign-in was denied in the browser');
        case 'expired': throw expired();
        case 'consumed': throw new PortcullisError('conflict', 'this sign-in was already used; run portcullis login --sso again');
      }
    }
  } finally {
    clearTimeout(timer);
    process.removeListener('SIGINT', cancel);
  }
}

const expired = (): PortcullisError =>
  new PortcullisError('unauthenticated', 'the sign-in was not approved within 10 minutes; run portcullis login --sso again');

/**
 * $BROWSER, else xdg-open, when a display is there to show it; the URL is an argument, never a
 * shell string. Failing to open is fine: the URL is printed.
 */
function openBrowser(env: NodeJS.ProcessEnv, url: string): void {
  const browser = env.BROWSER?.split(':')[0]?.trim();
  if (!browser && !env.DISPLAY && !env.WAYLAND_DISPLAY) return;
  try {
    const child = spawn(browser || 'xdg-open', [url], { stdio: 'ignore', detached: true, env });
    child.on('error', () => {});
    child.unref();
  } catch {
    // Printed above: the person opens it by hand.
  }
}
