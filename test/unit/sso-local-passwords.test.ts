// `oidc.local_passwords: false`: account passwords sign in only the break-glass admins (local
// accounts with the admin role), on every protocol — a database login is a sign-in too, so other
// users' account passwords do not open a database (they take the grant's one-time password).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../support/test-app.js';

describe('local_passwords: false', () => {
  let t: TestApp;
  const secretDir = mkdtempSync(join(tmpdir(), 'portcullis-oidc-'));
  afterEach(async () => { await t.close(); rmSync(secretDir, { recursive: true, force: true }); });

  it('refuses a database login with the account password of a user who is not a break-glass admin', async () => {
    t = await testApp({
      config: (c) => {
        const secret = join(secretDir, 'oidc-secret');
        writeFileSync(secret, 'client-secret\n');
        c.oidc = {
          issuer: 'https://idp.invalid', client_id: 'portcullis', client_secret_file: secret, groups_claim: 'groups', roles: {},
          local_passwords: false, scopes: ['openid'], ca_file: null, refresh_every: '5m', label: 'IdP',
        };
      },
    });
    await t.user('alice', ['ops']);
    await t.user('boss', ['admin']);
    const db = (name: string, password: string): Promise<string> => t.app.authn.dbPasswordLogin(name, 'orders-db', password, '10.0.0.1', 'mysql-caching-sha2')
      .then(() => 'in', (e: { code: string }) => e.code);
    expect(await db('alice', 'alice-password-1')).toBe('invalid-credentials');
    expect(await db('boss', 'boss-password-1')).toBe('in');
  });
});
