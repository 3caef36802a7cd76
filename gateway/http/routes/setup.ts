// First run (access/setup.ts): the setup page asks whether its link is usable and gets a fresh
// one-time code secret with its QR code; then posts the first admin's name, password and a code
// from that secret. Public routes: the link's token is the credential. The answer signs the new
// admin in (the same cookie session as /api/v1/web/login). The token is in the path, so
// server.ts never logs these paths whole.
import QRCode from 'qrcode';
import type { WebMe } from '../../api-types.js';
import { base32Encode } from '../../access/totp.js';
import { parseDuration } from '../../util/duration.js';
import { randomBytes } from 'node:crypto';
import { type RawResponse, type Route, route } from '../router.js';
import { csrfFor, sessionCookie } from '../web-auth.js';

export interface SetupStart {
  state: 'ready';
  /** A fresh secret per page load; the server keeps nothing until the code proves it. */
  totp_secret: string;
  totp_uri: string;
  /** The otpauth URI as a QR code (data: URL, allowed by the console's CSP). */
  totp_qr: string;
}

export const setupRoutes: Route[] = [
  route('GET', '/api/v1/setup/:token', 'public', async (c): Promise<SetupStart> => {
    await c.services.setup.check(c.params.token!);
    const secret = base32Encode(randomBytes(20));
    const uri = c.services.setup.otpauth(c.query.get('user') || 'admin', secret);
    return { state: 'ready', totp_secret: secret, totp_uri: uri, totp_qr: await QRCode.toDataURL(uri, { margin: 1, width: 220 }) };
  }),
  route('POST', '/api/v1/setup/:token', 'public', async (c): Promise<RawResponse> => {
    const user = await c.services.setup.complete(c.params.token!, {
      name: c.body.str('name'), password: c.body.str('password'), totpSecret: c.body.str('totp_secret'), code: c.body.str('code'), addr: c.addr,
    });
    const ttlMs = parseDuration(c.services.config.api.tokenTtl);
    const { token } = await c.services.authn.issueToken('setup', user, 'web', ttlMs);
    const me: WebMe = { user: user.name, roles: user.roles, csrf: csrfFor(token) };
    return { status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(me), headers: { 'set-cookie': sessionCookie(token, Math.floor(ttlMs / 1000)) } };
  }),
];
