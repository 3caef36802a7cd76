import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { totpAt } from '../../gateway/access/totp.js';
import { CredentialVault } from '../../gateway/vault/credential-vault.js';
import { loadMasterKeys } from '../../gateway/vault/master-key.js';
import { RecordingKeys } from '../../gateway/vault/recording-keys.js';
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

  it('finishes an interrupted rotation with its staged key rather than overwriting the only copy of it', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    const web02 = await addSshTarget(t.app, 'web02', 'second-secret-2');
    const keyFile = join(t.dir, 'master.key');
    const oldKey = readFileSync(keyFile, 'utf8');
    await t.app.creds.rotateKey();
    const staged = readFileSync(keyFile, 'utf8');
    // The crash: values are under the staged key, master.key still holds the old one.
    writeFileSync(keyFile + '.new', staged);
    writeFileSync(keyFile, oldKey);
    const restarted = new CredentialVault(t.app.store, new Vault(loadMasterKeys(t.dir, {}).keys), keyFile);
    // A second rotation that fails (here: a re-pointed row) must leave the staged key where it is.
    const sealed = (await t.app.store.targets.byId(web02.id))!;
    await t.app.store.targets.update({ ...sealed, port: 2 });
    await expect(restarted.rotateKey()).rejects.toThrow(/web02/);
    expect(readFileSync(keyFile + '.new', 'utf8')).toBe(staged);
    const web01 = (await t.app.store.targets.byName('web01'))!;
    expect(new Vault(loadMasterKeys(t.dir, {}).keys).open(web01.credentialSealed, targetBindingAad(web01), 'v2').toString()).toBe('target-secret-1');
    await t.app.store.targets.update(sealed);
    const r = await restarted.rotateKey();
    expect(r).toMatchObject({ keyId: keyId(Buffer.from(staged.trim(), 'base64')), verified: true, oldKeyRemoved: true });
    expect(readFileSync(keyFile, 'utf8')).toBe(staged);
    expect(existsSync(keyFile + '.new')).toBe(false);
    const tgt = (await t.app.store.targets.byName('web01'))!;
    expect(new Vault(loadMasterKeys(t.dir, {}).keys).open(tgt.credentialSealed, targetBindingAad(tgt), 'v2').toString()).toBe('target-secret-1');
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

  it('keeps master.key.old when asked to (--keep-old), still verified', async () => {
    t = await testApp();
    await addSshTarget(t.app);
    const keyFile = join(t.dir, 'master.key');
    const before = readFileSync(keyFile, 'utf8');
    expect(await t.app.creds.rotateKey({ keepOld: true })).toMatchObject({ verified: true, oldKeyRemoved: false });
    expect(readFileSync(keyFile + '.old', 'utf8')).toBe(before);
    expect(statSync(keyFile + '.old').mode & 0o777).toBe(0o600);
  });

  it('stops, rolled back, when a target credential does not open for its target, naming it; the key files stay as they were', async () => {
    t = await testApp();
    const tgt = await addSshTarget(t.app, 'web01');
    await addSshTarget(t.app, 'web02', 'second-secret-2');
    await t.app.store.targets.update({ ...tgt, host: '10.6.6.6' });
    const keyFile = join(t.dir, 'master.key');
    const before = readFileSync(keyFile, 'utf8');
    await expect(t.app.creds.rotateKey()).rejects.toThrow(/credential of web01 .*portcullis target update web01 --password-stdin/);
    expect(readFileSync(keyFile, 'utf8')).toBe(before);
    expect(existsSync(keyFile + '.new')).toBe(false);
    expect(existsSync(keyFile + '.old')).toBe(false);
    // Nothing was re-sealed: the other target still opens with the old key alone.
    const web02 = (await t.app.store.targets.byName('web02'))!;
    expect(new Vault(loadMasterKeys(t.dir, {}).keys).open(web02.credentialSealed, targetBindingAad(web02), 'v2').toString()).toBe('second-secret-2');
  });

  it('refuses to rotate a key that comes from the environment', () => {
    const v = new Vault([randomBytes(32)]);
    expect(v.primaryKeyId).toHaveLength(8);
    expect(() => loadMasterKeys('/nonexistent', { PORTCULLIS_MASTER_KEY: 'short' })).toThrowError(/32 bytes/);
  });
});

describe('values bound to their row', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('a one-time code secret moved to another user does not open there: that user cannot log in with the owner\'s codes', async () => {
    t = await testApp();
    const ops = await t.user('ops', ['ops']);
    const dev = await t.user('dev', ['ops']);
    const { secret } = await t.app.users.enrollTotp('admin', 'ops', 'Portcullis');
    await t.app.users.enrollTotp('admin', 'dev', 'Portcullis');
    const opsRow = (await t.app.store.users.byId(ops.id))!;
    const devRow = (await t.app.store.users.byId(dev.id))!;
    await t.app.store.users.update({ ...devRow, totpSealed: opsRow.totpSealed });
    await expect(t.app.authn.secondFactor(devRow, totpAt(secret, t.clock.now()), '192.0.2.1', 'publickey')).rejects.toThrow(/failed authentication/);
  });

  it('recording keys swapped between rows do not open: no span is sealed or revealed under a planted key', async () => {
    t = await testApp();
    await new RecordingKeys(t.app.store, t.app.vault, t.clock).ready();
    const second = randomBytes(32);
    await t.app.store.recordingKeys.insert({ id: keyId(second), sealed: t.app.vault.seal(second, aadFor.recordingKey(keyId(second))), createdAt: t.clock.now() + 1 });
    const [a, b] = await t.app.store.recordingKeys.list();
    await t.app.store.replaceSealed({ table: 'recording_keys', id: a!.id, sealed: b!.sealed });
    await t.app.store.replaceSealed({ table: 'recording_keys', id: b!.id, sealed: a!.sealed });
    await expect(new RecordingKeys(t.app.store, t.app.vault, t.clock).ready()).rejects.toThrow(/failed authentication/);
  });
});
