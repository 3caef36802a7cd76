// Who a single sign-on becomes: found by issuer#subject, created on the first sign-in, never
// taking over a name already held — exactly, or in another case ("Admin" beside "admin").
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../gateway/access/context.js';
import type { OidcIdentity } from '../../gateway/identity/oidc-client.js';
import { oidcSettings } from '../../gateway/identity/oidc-config.js';
import { signInUser } from '../../gateway/identity/sso-users.js';
import { tempDir } from '../harness/common.js';
import { testApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
const ctx = (): AccessContext => ({ store: t.app.store, audit: t.app.audit, clock: t.app.clock, events: t.app.events, settings: { pendingTtlMs: 3_600_000, breakglassMaxMs: 3_600_000, warnBeforeMs: 60_000 } });
beforeEach(async () => { t = await testApp(); });
afterEach(() => t.close());

const settings = (): NonNullable<ReturnType<typeof oidcSettings>> => {
  const secret = join(tempDir('sso-users'), 'secret');
  writeFileSync(secret, 's\n');
  return oidcSettings({ issuer: 'https://idp.test', client_id: 'pc', client_secret_file: secret, roles: { ops: 'ops' } })!;
};
const id = (subject: string, username: string): OidcIdentity => ({ issuer: 'https://idp.test', subject, username, groups: ['ops'], refreshToken: null });

describe('single sign-on users', () => {
  it('creates the user once and finds it again by issuer and subject', async () => {
    const s = settings();
    const a = await signInUser(ctx(), t.app.users, id('sub-1', 'carol'), s);
    const b = await signInUser(ctx(), t.app.users, id('sub-1', 'carol-renamed'), s);
    expect(b.id).toBe(a.id);
    expect(a).toMatchObject({ name: 'carol', source: 'oidc', roles: ['ops'] });
  });

  it('refuses a name already held, and one that differs from it only in case', async () => {
    const s = settings();
    await t.user('dave', ['admin']);
    await expect(signInUser(ctx(), t.app.users, id('sub-2', 'dave'), s)).rejects.toMatchObject({ reason: 'name-taken' });
    await expect(signInUser(ctx(), t.app.users, id('sub-3', 'Dave'), s)).rejects.toMatchObject({ reason: 'name-taken', message: expect.stringContaining('"dave"') as unknown });
    expect((await t.app.store.users.list()).filter((u) => u.name.toLowerCase() === 'dave')).toHaveLength(1);
  });
});
