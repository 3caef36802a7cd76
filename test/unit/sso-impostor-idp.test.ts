// ID tokens no stock provider sends on purpose, from a small impostor provider (HTTPS, the test CA):
// another issuer, a wrong audience, expired, issued in the future, signed by another key, the wrong
// nonce, no groups claim; and a callback whose state is not the flow's. Each must be refused by the
// OIDC client (the library's checks) before any user is looked at.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcClient } from '../../gateway/identity/oidc-client.js';
import { oidcSettings } from '../../gateway/identity/oidc-config.js';
import { mappedRoles } from '../../gateway/identity/sso-users.js';
import { tempDir } from '../harness/common.js';
import { testTls } from '../harness/test-ca.js';

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;
let server: Server;
let issuer: string;
let good: Keys;
let rogue: Keys;
/** What the token endpoint signs next: claims over the defaults, and the key. */
let next: { claims: JWTPayload; keys: 'good' | 'rogue'; nonce: string | null } = { claims: {}, keys: 'good', nonce: null };
const REDIRECT = 'https://gateway.test/api/v1/sso/callback';

beforeAll(async () => {
  good = await generateKeyPair('RS256');
  rogue = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(good.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const tls = testTls();
  server = createServer({ key: tls.server.keyPem, cert: tls.server.certPem }, (req, res) => {
    const send = (v: unknown): void => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(v)); };
    if (req.url === '/.well-known/openid-configuration') {
      return send({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'],
        subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'], code_challenge_methods_supported: ['S256'] });
    }
    if (req.url === '/jwks') return send({ keys: [jwk] });
    if (req.url === '/token') {
      req.resume();
      req.on('end', () => {
        const now = Math.floor(Date.now() / 1000);
        const key = next.keys === 'good' ? good.privateKey : rogue.privateKey;
        void new SignJWT({ iss: issuer, aud: 'portcullis', sub: 'alice-sub', iat: now, exp: now + 300, preferred_username: 'alice', groups: ['ops-team'], nonce: next.nonce, ...next.claims })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(key)
          .then((idToken) => send({ access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken }));
      });
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

function client(): OidcClient {
  const secretFile = join(tempDir('impostor'), 'secret');
  writeFileSync(secretFile, 'sekrit\n');
  const settings = oidcSettings({ issuer, client_id: 'portcullis', client_secret_file: secretFile, ca_file: testTls().caFile, roles: { 'ops-team': 'ops' } })!;
  return new OidcClient(settings, 'sekrit');
}

async function signIn(claims: JWTPayload, opts: { keys?: 'good' | 'rogue'; nonce?: string; state?: string } = {}): Promise<unknown> {
  const c = client();
  const flow = OidcClient.newFlow();
  next = { claims, keys: opts.keys ?? 'good', nonce: opts.nonce ?? flow.nonce };
  const cb = new URL(`${REDIRECT}?code=abc&state=${encodeURIComponent(opts.state ?? flow.state)}`);
  return c.exchange(cb, flow, REDIRECT);
}

describe('the OIDC client against an impostor provider', () => {
  it('takes a well-formed token (the baseline)', async () => {
    expect(await signIn({})).toMatchObject({ issuer, subject: 'alice-sub', username: 'alice', groups: ['ops-team'] });
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  it.each([
    ['another issuer', { iss: 'https://evil.example' }],
    ['a wrong audience', { aud: 'someone-else' }],
    ['an expired token', { exp: now() - 3600, iat: now() - 7200 }],
    ['a token issued in the future', { iat: now() + 3600, exp: now() + 7200 }],
  ])('refuses %s', async (_what, claims) => {
    await expect(signIn(claims)).rejects.toMatchObject({ code: 'invalid-credentials' });
  });

  it('refuses a bad signature, the wrong nonce and a state that is not the flow\'s', async () => {
    await expect(signIn({}, { keys: 'rogue' })).rejects.toMatchObject({ code: 'invalid-credentials' });
    await expect(signIn({}, { nonce: 'not-the-flows' })).rejects.toMatchObject({ code: 'invalid-credentials' });
    await expect(signIn({}, { state: 'forged-state' })).rejects.toMatchObject({ code: 'invalid-credentials' });
  });

  it('takes a name from the email only when the provider says it is verified', async () => {
    expect(await signIn({ preferred_username: undefined, email: 'bob@example.com' })).toMatchObject({ username: null });
    expect(await signIn({ preferred_username: undefined, email: 'bob@example.com', email_verified: false })).toMatchObject({ username: null });
    expect(await signIn({ preferred_username: undefined, email: 'bob@example.com', email_verified: true })).toMatchObject({ username: 'bob' });
  });

  it('refuses a token without the groups claim, naming the claim', async () => {
    const id = await signIn({ groups: undefined }) as { groups: string[] | null };
    expect(id.groups).toBeNull();
    const secretFile = join(tempDir('impostor'), 'secret');
    writeFileSync(secretFile, 'sekrit\n');
    const settings = oidcSettings({ issuer, client_id: 'portcullis', client_secret_file: secretFile, groups_claim: 'groups', roles: { 'ops-team': 'ops' } })!;
    expect(() => mappedRoles(id.groups, settings)).toThrow(/"groups" claim/);
  });

  it('says the provider is unreachable (and that local admins still sign in) when nothing answers at the issuer', async () => {
    const secretFile = join(tempDir('impostor'), 'secret');
    writeFileSync(secretFile, 'sekrit\n');
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const down = new OidcClient(oidcSettings({ issuer: `https://127.0.0.1:${port}`, client_id: 'portcullis', client_secret_file: secretFile, roles: { 'ops-team': 'ops' } })!, 'sekrit');
    const err = await down.authorizationUrl(OidcClient.newFlow(), REDIRECT).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as Error).message).toMatch(/unreachable.*local administrators can still sign in/);
    expect((err as Error).message).not.toContain('sekrit');
  });
});
