// The parts of single sign-on with no peer: return_to (no open redirect), the sealed flow cookie
// (tampered, another key, expired) and the oidc: config checks, whose errors name the key.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { oidcSettings, rolesFor } from '../../gateway/identity/oidc-config.js';
import { openFlow, safeReturnTo, sealFlow } from '../../gateway/identity/sso-flow.js';
import { Vault } from '../../gateway/vault/vault.js';
import { tempDir } from '../harness/common.js';

describe('return_to', () => {
  it('keeps same-origin paths and refuses everything that could leave the origin', () => {
    expect(safeReturnTo(null)).toBe('/');
    expect(safeReturnTo('/#/requests')).toBe('/#/requests');
    expect(safeReturnTo('/approve/abc?x=1')).toBe('/approve/abc?x=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', 'evil', '/\t/evil.example', ' /x', '/.//evil.example', '/a/..//evil.example', '/%2e//evil.example', '/%2e%2e//evil.example/x?y']) {
      expect(() => safeReturnTo(bad), bad).toThrow(/return_to/);
    }
  });
});

describe('the sealed flow', () => {
  const vault = new Vault([randomBytes(32)]);
  const flow = { state: 's', nonce: 'n', verifier: 'v', returnTo: '/#/x', expiresAt: 10_000 };
  it('opens under the same key before expiry, and never when tampered, foreign or expired', () => {
    const sealed = sealFlow(vault, flow);
    expect(openFlow(vault, sealed, 5_000)).toEqual(flow);
    expect(openFlow(vault, sealed, 10_000)).toBeNull();
    expect(openFlow(vault, sealed.slice(0, -2) + (sealed.endsWith('AA') ? 'BB' : 'AA'), 5_000)).toBeNull();
    expect(openFlow(new Vault([randomBytes(32)]), sealed, 5_000)).toBeNull();
    expect(openFlow(vault, null, 5_000)).toBeNull();
    expect(openFlow(vault, 'garbage', 5_000)).toBeNull();
  });
});

describe('oidc config', () => {
  const dir = tempDir('oidc-config');
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'the-secret\n');
  const base = { issuer: 'https://idp.example', client_id: 'portcullis', client_secret_file: secret };
  it('fills the defaults and maps groups to roles', () => {
    const s = oidcSettings({ ...base, roles: { 'ops-team': 'ops', security: ['investigator', 'approver'] } })!;
    expect(s).toMatchObject({ groups_claim: 'groups', local_passwords: true, refresh_every: '5m', scopes: ['openid', 'profile', 'email'] });
    expect(rolesFor(['security', 'ops-team', 'other', '__proto__'], s.roles)).toEqual(['approver', 'investigator', 'ops']);
    expect(JSON.stringify(s)).not.toContain('the-secret');
  });
  it.each([
    [{ ...base, issuer: 'http://idp.example' }, /https/],
    [{ ...base, client_secret_file: join(dir, 'missing') }, /client_secret_file/],
    [{ ...base, roles: { ops: 'bad+role' } }, /roles\."ops"/],
    [{ ...base, local_passwords: 'no' }, /local_passwords/],
    [{ ...base, refresh_every: '10ms' }, /refresh_every/],
    [{ ...base, typo: 1 }, /oidc\.typo/],
  ])('refuses a bad config (%#)', (raw, msg) => {
    expect(() => oidcSettings(raw)).toThrow(msg);
  });
});
