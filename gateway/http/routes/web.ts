// Routes for the browser: sign-in and sign-out with a cookie session, "who am I" with the CSRF
// token for a reloaded page, and windows of terminal recordings for the player.
import { existsSync } from 'node:fs';
import type { WebMe } from '../../api-types.js';
import { castFile, RecordingLayout } from '../../../recorder/layout.js';
import { parseDuration } from '../../util/duration.js';
import { PortcullisError } from '../../util/errors.js';
import { playerWindow } from '../player-windows.js';
import { type RawResponse, type Route, route } from '../router.js';
import { clearedCookie, csrfFor, sessionCookie } from '../web-auth.js';
import { me } from './identity.js';

const json = (value: unknown, headers: Record<string, string> = {}): RawResponse => ({ status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value), headers });

export const webRoutes: Route[] = [
  route('POST', '/api/v1/web/login', 'public', async (c) => {
    const user = await c.services.authn.login({
      user: c.body.str('user'), password: c.body.str('password'), totp: c.body.optStr('totp'), addr: c.addr, method: 'web-password',
    }).catch((err: unknown) => { c.services.counters.authFailures(); throw err; });
    const ttlMs = parseDuration(c.services.config.api.tokenTtl);
    const { token } = await c.services.authn.issueToken(user.name, user, 'web', ttlMs);
    return json({ user: user.name, roles: user.roles, csrf: csrfFor(token) } satisfies WebMe, { 'set-cookie': sessionCookie(token, Math.floor(ttlMs / 1000)) });
  }),
  route('POST', '/api/v1/web/logout', 'any', async (c) => {
    await c.services.authn.revokeToken(c.token);
    return json({ ok: true }, { 'set-cookie': clearedCookie() });
  }),
  route('GET', '/api/v1/web/me', 'any', (c): WebMe => ({ user: me(c).name, roles: me(c).roles, csrf: csrfFor(c.token) })),
  route('GET', '/api/v1/sessions/:id/terminal', ['investigator'], async (c) => {
    const s = await c.services.sessions.get(c.params.id!);
    if (!s) throw new PortcullisError('not-found', `no session "${c.params.id}"`);
    const channel = Number(c.query.get('channel') ?? 1);
    const from = Number(c.query.get('from') ?? 0);
    const span = Math.min(Number(c.query.get('span') ?? 60), 600);
    if (!Number.isInteger(channel) || channel < 1 || !(from >= 0) || !(span > 0)) throw new PortcullisError('bad-request', 'channel, from and span must be positive numbers');
    const path = RecordingLayout.of(c.services.paths.recordings, s.id).cast(channel);
    if (!existsSync(path)) throw new PortcullisError('not-found', `session ${s.id} has no terminal recording on channel ${channel}`);
    if (c.query.get('open') === '1') await c.services.audit.append('recording.viewed', me(c).name, { session: s.id, file: castFile(channel), by: me(c).name });
    return playerWindow(path, from, span);
  }),
];

