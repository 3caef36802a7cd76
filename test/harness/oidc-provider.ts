// The test identity provider: `oidc-provider` 9 (OpenID Certified) over HTTPS on a loopback port,
// with its own login pages (devInteractions: any password is accepted for a known account — the
// point here is the gateway's side of the protocol, not the provider's password check). Accounts
// and their groups are a Map the test edits: change groups, or delete an account to make its
// refresh fail. The gateway is one confidential client (client_secret_basic) whose redirect URI is
// set once the gateway's port is known. The certificate is the test CA's (test-ca.ts).
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { tempDir } from './common.js';
import { testTls } from './test-ca.js';

export interface IdpAccount { username: string; email?: string; groups?: string[] }

export interface TestIdp {
  issuer: string;
  clientId: string;
  /** A file holding the client secret, for oidc.client_secret_file. */
  secretFile: string;
  /** The test CA, for oidc.ca_file. */
  caFile: string;
  /** Subject → account; edit freely (a missing `groups` sends no groups claim). */
  accounts: Map<string, IdpAccount>;
  /** Registers the gateway's callback (call once, after the gateway is up, before any sign-in). */
  client(redirectUri: string): void;
  /** The gateway's `oidc:` YAML block. */
  yaml(extra?: Record<string, unknown>): string;
  stop(): Promise<void>;
}

const SECRET = 'test-client-secret-' + 'x'.repeat(24);

export async function startOidcProvider(): Promise<TestIdp> {
  const tls = testTls();
  let handler: ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) | null = null;
  const server: Server = createServer({ key: tls.server.keyPem, cert: tls.server.certPem }, (req, res) => {
    if (handler) handler(req, res);
    else { res.statusCode = 503; res.end('not ready'); }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = tempDir('idp');
  const secretFile = join(dir, 'client-secret');
  writeFileSync(secretFile, SECRET + '\n', { mode: 0o600 });
  const accounts = new Map<string, IdpAccount>();

  const idp: TestIdp = {
    issuer, clientId: 'portcullis', secretFile, caFile: tls.caFile, accounts,
    client(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [{
          client_id: 'portcullis', client_secret: SECRET, redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
        }],
        findAccount: (_ctx, sub) => {
          const a = accounts.get(sub);
          if (!a) return undefined;
          return {
            accountId: sub,
            claims: () => ({ sub, preferred_username: a.username, ...(a.email ? { email: a.email } : {}), ...(a.groups ? { groups: a.groups } : {}) }),
          };
        },
        claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
        // The groups in the ID token (also on refresh), as many providers do for a groups scope.
        conformIdTokenClaims: false,
        issueRefreshToken: () => true,
        features: { devInteractions: { enabled: true } },
        // A first-party client: no consent page.
        loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
          const session = ctx.oidc.session;
          const client = ctx.oidc.client;
          if (!session?.accountId || !client) return undefined;
          const existing = session.grantIdFor(client.clientId);
          if (existing) return ctx.oidc.provider.Grant.find(existing);
          const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
          grant.addOIDCScope('openid profile email groups offline_access');
          await grant.save();
          return grant;
        },
        cookies: { keys: ['test-idp-cookie-key-0123456789'] },
        ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 3600, Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60 },
      });
      handler = provider.callback();
    },
    yaml(extra = {}) {
      const o = { issuer, client_id: 'portcullis', client_secret_file: secretFile, ca_file: tls.caFile, scopes: ['openid', 'profile', 'email', 'groups'], ...extra };
      return `oidc: ${JSON.stringify(o)}\n`;
    },
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return idp;
}
