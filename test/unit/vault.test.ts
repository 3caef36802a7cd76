import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMasterKeys } from '../../gateway/vault/master-key.js';
import { targetBindingAad } from '../../gateway/vault/target-binding.js';
import { Vault, aadFor, keyId } from '../../gateway/vault/vault.js';
import { randomBytes } from 'node:crypto';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';

describe('the vault', () => {
  it('round-trips a secret and binds it to its row', () => {
    const v = new Vault([randomBytes(32)]);
    const sealed = v.seal('hunter2-canary', aadFor.totp('usr_1'));
    expect(sealed).not.toContain('hunter2');
    expect(v.open(sealed, aadFor.totp('usr_1')).toString()).toBe('hunter2-canary');
    expect(() => v.open(sealed, aadFor.totp('usr_2'))).toThrowError(/failed authentication/);
  });

  it('refuses a tampered ciphertext without echoing it', () => {
    const v = new Vault([randomBytes(32)]);
    const parts = v.seal('secret-value', 'a').split('.');
    const ct = Buffer.from(parts[4]!, 'base64url');
    ct[0]! ^= 1;
    parts[4] = ct.toString('base64url');
    expect(() => v.open(parts.join('.'), 'a')).toThrowError(/^sealed value failed authentication/);
  });

  it('reads values sealed under any key in its ring', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedOld = new Vault([oldKey]).seal('x', 'a');
    const v = new Vault([newKey, oldKey]);
    expect(v.primaryKeyId).toBe(keyId(newKey));
    expect(v.open(sealedOld, 'a').toString()).toBe('x');
  });
});

describe('master key rotation', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('re-encrypts every credential and TOTP secret under a new key and keeps them readable', async () => {
    t = await testApp();
    const target = await addSshTarget(t.app, 'web01', 'canary-credential-77');
    await t.user('ops', ['ops']);
    await t.app.users.enrollTotp('admin', 'ops', 'Portcullis');
    const keyFile = join(t.dir, 'master.key');
    const before = readFileSync(keyFile, 'utf8');
    const sealedBefore = (await t.app.store.targets.byId(target.id))!.credentialSealed;

    const r = await t.app.creds.rotateKey();

    expect(r.resealed).toBe(2);
    expect(readFileSync(keyFile, 'utf8')).not.toBe(before);
    // Verified (everything opens with the new key file alone), so the previous key file is gone.
    expect(r).toMatchObject({ verified: true, oldKeyRemoved: true });
    expect(existsSync(keyFile + '.old')).toBe(false);
    expect(existsSync(keyFile + '.new')).toBe(false);
    const after = (await t.app.store.targets.byId(target.id))!;
    expect(after.credentialSealed).not.toBe(sealedBefore);
    expect(after.credentialSealed.split('.')[1]).toBe(r.keyId);
    const grant = await t.app.grants.adminGrant(t.admin, 'admin', 'web01', 60_000, 'test', null);
    const cred = t.app.creds.checkout(grant, after);
    expect(cred.secret.toString()).toBe('canary-credential-77');
    cred.wipe();
    expect(cred.secret.every((b) => b === 0)).toBe(true);
    // A fresh process with only the new key file can read everything.
    const fresh = new Vault(loadMasterKeys(t.dir, {}).keys);
    expect(fresh.open(after.credentialSealed, targetBindingAad(after), 'v2').toString()).toBe('canary-credential-77');
  });

  it('recovers from a crash between the re-encryption and the key file swap', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    const keyFile = join(t.dir, 'master.key');
    const oldKey = readFileSync(keyFile, 'utf8');
    await t.app.creds.rotateKey();
    // Simulate the crash: the old key is back in master.key and the new one is still staged.
    const newKey = readFileSync(keyFile, 'utf8');
    writeFileSync(keyFile + '.new', newKey);
    writeFileSync(keyFile, oldKey);
    const keys = loadMasterKeys(t.dir, {}).keys;
    expect(keys).toHaveLength(2);
    const v = new Vault(keys);
    const tgt = (await t.app.store.targets.byName('web01'))!;
    expect(v.open(tgt.credentialSealed, targetBindingAad(tgt), 'v2').toString()).toBe('target-secret-1');
  });

  it('keeps targets added while the key rotates readable with the key files alone', async () => {
    t = await testApp();
    await addSshTarget(t.app, 'web01');
    await Promise.all([addSshTarget(t.app, 'web02', 'second-secret-2'), t.app.creds.rotateKey(), addSshTarget(t.app, 'web03', 'third-secret-3')]);
    const fresh = new Vault(loadMasterKeys(t.dir, {}).keys);
    for (const [name, secret] of [['web01', 'target-secret-1'], ['web02', 'second-secret-2'], ['web03', 'third-secret-3']] as const) {
      const tgt = (await t.app.store.targets.byName(name))!;
      expect(fresh.open(tgt.credentialSealed, targetBindingAad(tgt), 'v2').toString()).toBe(secret);
    }
    await expect(Promise.all([t.app.creds.rotateKey(), t.app.creds.rotateKey()])).rejects.toMatchObject({ code: 'conflict' });
  });

  it('refuses to rotate a key that comes from the environment', () => {
    const v = new Vault([randomBytes(32)]);
    expect(v.primaryKeyId).toHaveLength(8);
    expect(() => loadMasterKeys('/nonexistent', { PORTCULLIS_MASTER_KEY: 'short' })).toThrowError(/32 bytes/);
  });
});
