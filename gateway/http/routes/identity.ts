// Login, whoami, users and service-account tokens.
import { userView } from '../../access/views.js';
import type { UserRecord } from '../../store/records.js';
import { parseDuration } from '../../util/duration.js';
import { PortcullisError } from '../../util/errors.js';
import { type Route, type RouteContext, route } from '../router.js';

export const me = (c: RouteContext): UserRecord => {
  if (!c.user) throw new PortcullisError('unauthenticated', 'sign in first: portcullis login');
  return c.user;
};

export const identityRoutes: Route[] = [
  route('POST', '/api/v1/login', 'public', async (c) => {
    const user = await c.services.authn.login({
      user: c.body.str('user'), password: c.body.str('password'), totp: c.body.optStr('totp'), addr: c.addr, method: 'api-password',
    }).catch((err: unknown) => { c.services.counters.authFailures(); throw err; });
    const ttl = parseDuration(c.services.config.api.tokenTtl);
    const { token, expiresAt } = await c.services.authn.issueToken(user.name, user, 'login', ttl);
    return { token, user: user.name, roles: user.roles, expires_at: new Date(expiresAt!).toISOString() };
  }),
  route('GET', '/api/v1/whoami', 'any', (c) => userView(me(c))),
  route('GET', '/api/v1/users', ['admin'], async (c) => (await c.services.users.list()).map(userView)),
  route('POST', '/api/v1/users', ['admin'], async (c) => {
    const kind = c.body.optStr('kind') === 'service' ? 'service' : 'human';
    const u = await c.services.users.add(me(c).name, {
      name: c.body.str('name'), roles: c.body.strList('roles'), kind, password: c.body.optStr('password'), sshKeys: c.body.strList('ssh_keys'),
      mysqlNative: c.body.optBool('mysql_native_password') ?? false,
    });
    return userView(u);
  }),
  route('POST', '/api/v1/users/:name', ['admin'], async (c) => {
    const native = c.body.optBool('mysql_native_password');
    if (native !== undefined) await c.services.users.setMysqlNative(me(c).name, c.params.name!, native);
    return userView(await c.services.users.get(c.params.name!));
  }),
  route('DELETE', '/api/v1/users/:name', ['admin'], async (c) => {
    await c.services.users.remove(me(c).name, c.params.name!);
    return { removed: c.params.name };
  }),
  route('POST', '/api/v1/users/:name/totp', ['admin'], async (c) => {
    if (c.body.optBool('remove')) {
      await c.services.users.removeTotp(me(c).name, c.params.name!);
      return { removed: true };
    }
    return { uri: (await c.services.users.enrollTotp(me(c).name, c.params.name!, 'Portcullis')).uri };
  }),
  route('POST', '/api/v1/users/:name/ssh-keys', ['admin'], async (c) => {
    await c.services.users.addSshKey(me(c).name, c.params.name!, c.body.str('key'));
    return userView(await c.services.users.get(c.params.name!));
  }),
  route('POST', '/api/v1/users/:name/disable', ['admin'], async (c) => {
    await c.services.users.setDisabled(me(c).name, c.params.name!, c.body.optBool('disabled') ?? true);
    return userView(await c.services.users.get(c.params.name!));
  }),
  route('POST', '/api/v1/tokens', ['admin'], async (c) => {
    const u = await c.services.users.get(c.body.str('user'));
    if (u.kind !== 'service') throw new PortcullisError('bad-request', `${u.name} is not a service account (user add --service)`);
    const ttl = c.body.optStr('ttl');
    const { token, expiresAt } = await c.services.authn.issueToken(me(c).name, u, c.body.optStr('label') ?? 'api', ttl ? parseDuration(ttl) : null);
    return { token, user: u.name, expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString() };
  }),
];
