// A target's upstream-auth settings as the access layer takes them: the weak-auth opt-in only on
// database targets and off by default, a pinned RSA key only on MySQL targets and only in its exact
// form; both stored and said in the target.created audit entry.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { rsaKeyFingerprint } from '../../gateway/mysql/wire/rsa-key.js';
import { testApp, type TestApp } from '../support/test-app.js';

const codeOf = async (fn: () => Promise<unknown>): Promise<string> => {
  try { await fn(); } catch (e) { return (e as { code: string }).code; }
  return 'no error';
};
const db = (over: Record<string, unknown>) => ({ name: 'db1', kind: 'mysql' as const, host: 'db.internal', account: 'app', password: 'pw-1', ...over });

describe('target upstream-auth settings', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('defaults to no weak methods and no pin, and records an opt-in and a pin in target.created', async () => {
    t = await testApp();
    const plain = await t.app.targets.add('admin', db({ name: 'plain', kind: 'postgres' }));
    expect(plain).toMatchObject({ allowWeakUpstreamAuth: false, rsaKeyFingerprint: null });
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const pin = rsaKeyFingerprint(pem);
    const weak = await t.app.targets.add('admin', db({ name: 'legacy', allowWeakUpstreamAuth: true, rsaKeyFingerprint: pin }));
    expect(await t.app.targets.get('legacy')).toEqual(weak);
    expect(weak).toMatchObject({ allowWeakUpstreamAuth: true, rsaKeyFingerprint: pin });
    const created = (await t.app.audit.page(0, 100)).filter((e) => e.code === 'target.created').map((e) => e.data);
    expect(created).toMatchObject([
      { target: 'plain', kind: 'postgres', host: 'db.internal', port: 5432, allowWeakUpstreamAuth: false, tls: 'verify-full', tls_ca: false, tls_fingerprint: null },
      { target: 'legacy', kind: 'mysql', host: 'db.internal', port: 3306, allowWeakUpstreamAuth: true, rsaKeyFingerprint: pin, tls: 'verify-full', tls_ca: false, tls_fingerprint: null },
    ]);
  });

  it('refuses the opt-in on SSH targets and a pin on anything but MySQL or in any other form', async () => {
    t = await testApp();
    expect(await codeOf(() => t.app.targets.add('admin', db({ kind: 'ssh', hostKey: `SHA256:${'A'.repeat(43)}`, allowWeakUpstreamAuth: true })))).toBe('bad-request');
    expect(await codeOf(() => t.app.targets.add('admin', db({ kind: 'postgres', rsaKeyFingerprint: `sha256:${'a'.repeat(64)}` })))).toBe('bad-request');
    for (const bad of [`sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `SHA256:${'a'.repeat(64)}`, 'a'.repeat(64), '']) {
      expect(await codeOf(() => t.app.targets.add('admin', db({ rsaKeyFingerprint: bad })))).toBe('bad-request');
    }
    expect(await t.app.targets.list()).toEqual([]);
  });
});
