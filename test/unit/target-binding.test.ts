// Issue 14 item 2: a target credential is bound to where it may be sent. The canonical encoding of
// the binding (pinned: changing it strands every stored credential), each bound field, the format
// prefix authenticated both ways, the one-time migration from v1 and the downgrades an attacker
// with write access to the store would try, and the rows other sealed values are bound to.
import { existsSync, rmSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { TargetRecord } from '../../gateway/store/records.js';
import { bindingMarkerPath, migrateBindings } from '../../gateway/vault/binding-migration.js';
import { CredentialUnbound } from '../../gateway/vault/credential-vault.js';
import { BOUND_FIELDS, boundChanges, repointedFields, targetBindingAad } from '../../gateway/vault/target-binding.js';
import { aadFor, Vault } from '../../gateway/vault/vault.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const record = (over: Partial<TargetRecord> = {}): TargetRecord => ({
  id: 'tgt_1', name: 'orders-db', kind: 'postgres', host: 'db1.internal', port: 5432, account: 'app', credentialKind: 'password',
  credentialSealed: '', hostKey: null, database: 'orders', tlsMode: 'verify-full', tlsCaPem: CA, allowWeakUpstreamAuth: false, rsaKeyFingerprint: null, tlsFingerprint: null, tags: ['prod'], credentialMode: 'static', levels: [{ name: 'default', grants: [] }], rotate: 'off', ephemeralReassignTo: null, ephemeralKeepHome: false, pendingCredentialSealed: null, rotatedAt: null, createdAt: 1, ...over,
});

describe('the binding of a target credential', () => {
  it('has one canonical encoding, pinned here: a change to it would strand every stored credential', () => {
    expect(BOUND_FIELDS).toEqual(['id', 'kind', 'host', 'port', 'account', 'credential_kind', 'host_key', 'tls_mode', 'tls_ca_sha256', 'allow_weak_upstream_auth', 'rsa_key_fingerprint', 'tls_fingerprint',
      'credential_mode', 'levels_sha256', 'ephemeral_reassign_to']);
    expect(targetBindingAad(record())).toBe('portcullis target credential binding\n' +
      '[["id","tgt_1"],["kind","postgres"],["host","db1.internal"],["port",5432],["account","app"],["credential_kind","password"],' +
      '["tls_mode","verify-full"],["tls_ca_sha256","8010bfcee1842b2a4ce8f67c3e9455f0188f7a15bf39ec61a26feb75cd785821"]]');
    // Null fields are left out, so a field appended later that is null here leaves this AAD as it is.
    expect(targetBindingAad(record({ kind: 'ssh', hostKey: 'SHA256:' + 'A'.repeat(43), tlsMode: 'disable', tlsCaPem: null }))).toBe(
      'portcullis target credential binding\n[["id","tgt_1"],["kind","ssh"],["host","db1.internal"],["port",5432],["account","app"],' +
      `["credential_kind","password"],["host_key","SHA256:${'A'.repeat(43)}"],["tls_mode","disable"]]`);
  });

  it('changes with every bound field, and not with the name, database, tags or the credential itself', () => {
    const base = record();
    const variants: Array<[string, Partial<TargetRecord>]> = [
      ['id', { id: 'tgt_2' }], ['kind', { kind: 'mysql' }], ['host', { host: '10.6.6.6' }], ['port', { port: 5433 }],
      ['account', { account: 'postgres' }], ['credential_kind', { credentialKind: 'private-key' }], ['host_key', { hostKey: 'SHA256:' + 'B'.repeat(43) }],
      ['tls_mode', { tlsMode: 'require' }], ['tls_ca_sha256', { tlsCaPem: CA.replace('MIIB', 'MIIC') }], ['tls_ca_sha256', { tlsCaPem: null }],
      ['allow_weak_upstream_auth', { allowWeakUpstreamAuth: true }], ['rsa_key_fingerprint', { rsaKeyFingerprint: 'sha256:' + 'a'.repeat(64) }],
      ['tls_fingerprint', { tlsFingerprint: 'sha256:' + 'b'.repeat(64) }],
    ];
    for (const [field, over] of variants) {
      expect(targetBindingAad(record(over)), field).not.toBe(targetBindingAad(base));
      expect(boundChanges(base, record(over))).toEqual([field]);
    }
    for (const over of [{ name: 'x' }, { database: 'other' }, { tags: [] }, { credentialSealed: 'v2.x' }, { createdAt: 9 }]) {
      expect(targetBindingAad(record(over))).toBe(targetBindingAad(base));
    }
    // The credential kind is bound but says how the secret is used, not where it goes.
    expect(repointedFields(base, record({ credentialKind: 'private-key' }))).toEqual([]);
    expect(repointedFields(base, record({ host: 'x', port: 1 }))).toEqual(['host', 'port']);
  });

  it('binds what the credential is used for (issue 15): mode, levels and reassign-to, each null where a target predates them', () => {
    const base = record();
    // A static target with the implicit default level keeps the AAD it had before these fields (pinned above).
    expect(targetBindingAad(record({ rotate: 'daily', ephemeralKeepHome: true, rotatedAt: 5 }))).toBe(targetBindingAad(base));
    const levels = [{ name: 'read', grants: ['pc_read'] }, { name: 'write', grants: ['pc_read', 'pc_write'] }];
    const eph = record({ credentialMode: 'ephemeral', levels, ephemeralReassignTo: 'pc_owner' });
    expect(targetBindingAad(eph)).toBe(targetBindingAad(base).slice(0, -1) +
      ',["credential_mode","ephemeral"],["levels_sha256","' +
      createHash('sha256').update('[{"name":"read","grants":["pc_read"]},{"name":"write","grants":["pc_read","pc_write"]}]').digest('hex') +
      '"],["ephemeral_reassign_to","pc_owner"]]');
    const variants: Array<[string, Partial<TargetRecord>]> = [
      ['credential_mode', { credentialMode: 'ephemeral' }],
      ['levels_sha256', { levels: [{ name: 'default', grants: ['pc_write'] }] }],
      ['levels_sha256', { levels: [{ name: 'read', grants: [] }] }],
      ['levels_sha256', { levels: [{ name: 'default', grants: [] }, { name: 'write', grants: [] }] }],
      ['ephemeral_reassign_to', { ephemeralReassignTo: 'postgres' }],
    ];
    for (const [field, over] of variants) {
      expect(boundChanges(base, record(over)), field).toEqual([field]);
      expect(repointedFields(base, record(over)), field).toEqual([field]);
    }
    // Order is privilege order: swapping two levels changes the binding; so does moving a role between them.
    const swapped = record({ ...eph, levels: [levels[1]!, levels[0]!] });
    expect(boundChanges(eph, swapped)).toEqual(['levels_sha256']);
    const moved = record({ ...eph, levels: [{ name: 'read', grants: ['pc_read', 'pc_write'] }, { name: 'write', grants: ['pc_read'] }] });
    expect(boundChanges(eph, moved)).toEqual(['levels_sha256']);
  });

  it('cannot be imitated by a value that contains the encoding\'s own punctuation', () => {
    const a = record({ host: 'h', account: 'a"],["x' });
    const b = record({ host: 'h"],["account","a', account: 'x' });
    const c = record({ host: 'h\n', account: 'a' });
    const all = [a, b, c, record({ host: 'h', account: 'a' })].map(targetBindingAad);
    expect(new Set(all).size).toBe(4);
  });
});

describe('the sealed format', () => {
  const v = new Vault([randomBytes(32)]);
  const relabel = (sealed: string, to: string): string => [to, ...sealed.split('.').slice(1)].join('.');

  it('authenticates the v2 prefix: a v2 value relabelled v1, or a v1 value relabelled v2, does not open', () => {
    const aad = targetBindingAad(record());
    const v2 = v.seal('secret-a', aad, 'v2');
    expect(v.open(v2, aad, 'v2').toString()).toBe('secret-a');
    expect(() => v.open(relabel(v2, 'v1'), aad, 'v1')).toThrow(/failed authentication/);
    const v1 = v.seal('secret-a', aad, 'v1');
    expect(() => v.open(relabel(v1, 'v2'), aad, 'v2')).toThrow(/failed authentication/);
  });

  it('opens only the format the caller asks for, whatever the stored prefix says', () => {
    const v1 = v.seal('secret-b', aadFor.legacyTarget('tgt_1'));
    expect(() => v.open(v1, aadFor.legacyTarget('tgt_1'), 'v2')).toThrow(/format v1, where only v2/);
    expect(() => v.open('v3.' + v1.slice(3), aadFor.legacyTarget('tgt_1'))).toThrow(/unknown format/);
  });
});

describe('target credentials in the store', () => {
  let t: TestApp;
  afterEach(() => t.close());

  const grantFor = async (name: string) => t.app.grants.adminGrant(t.admin, 'admin', name, 60_000, 'test', null);

  it('do not open once the row is repointed in the database, and say what the admin must do, never the secret', async () => {
    t = await testApp();
    const tgt = await addSshTarget(t.app, 'web01', 'Canary-Ssh-Secret-1');
    const grant = await grantFor('web01');
    const edits: Array<Partial<TargetRecord>> = [
      { host: '10.6.6.6' }, { port: 2222 }, { account: 'admin' }, { kind: 'postgres' }, { hostKey: 'SHA256:' + 'Z'.repeat(43) },
      { tlsMode: 'require' }, { tlsCaPem: CA }, { credentialKind: 'private-key' },
      // Issue 15: a database edit that makes the credential a provisioner, or widens its levels.
      { credentialMode: 'ephemeral' }, { levels: [{ name: 'default', grants: ['wheel'] }] }, { levels: [{ name: 'default', grants: [] }, { name: 'admin', grants: ['sudo'] }] },
    ];
    for (const edit of edits) {
      await t.app.store.targets.update({ ...tgt, ...edit });
      const cur = (await t.app.store.targets.byId(tgt.id))!;
      let err: unknown;
      try { t.app.creds.checkout(grant, cur); } catch (e) { err = e; }
      expect(err, JSON.stringify(edit)).toBeInstanceOf(CredentialUnbound);
      expect((err as Error).message).toMatch(/changed outside Portcullis.*portcullis target update web01 (--password-stdin|--key-file FILE)/);
      expect((err as Error).message).not.toContain('Canary-Ssh-Secret-1');
    }
    // Back where it was entered for, it opens again: nothing was destroyed by the edit.
    await t.app.store.targets.update(tgt);
    const back = t.app.creds.checkout(grant, (await t.app.store.targets.byId(tgt.id))!);
    expect(back.secret.toString()).toBe('Canary-Ssh-Secret-1');
    back.wipe();
  });

  it('do not open in another row, even with every other field the same', async () => {
    t = await testApp();
    const a = await addSshTarget(t.app, 'web01', 'secret-one');
    const b = await addSshTarget(t.app, 'web02', 'secret-two');
    await t.app.store.targets.update({ ...b, credentialSealed: a.credentialSealed });
    expect(() => t.app.creds.checkout({ targetId: b.id } as never, { ...b, credentialSealed: a.credentialSealed })).toThrow(CredentialUnbound);
  });

  it('refuse a v1 value put back in a migrated store, and the migration does not run again to rebind it', async () => {
    t = await testApp();
    const tgt = await addSshTarget(t.app, 'web01', 'secret-one');
    const grant = await grantFor('web01');
    // The attacker's material: a genuine v1 value (as an old backup holds it), and a new address.
    const legacy = t.app.vault.seal('secret-one', aadFor.legacyTarget(tgt.id));
    const planted = { ...tgt, host: '10.6.6.6', credentialSealed: legacy };
    await t.app.store.targets.update(planted);
    expect(() => t.app.creds.checkout(grant, planted)).toThrow(CredentialUnbound);
    // Whatever the marker says, a store holding a v2 value is never migrated (another target's here).
    await addSshTarget(t.app, 'web02', 'secret-two');
    rmSync(bindingMarkerPath(t.dir), { force: true });
    expect(await migrateBindings(t.app.store, t.app.vault, t.dir)).toEqual({ ran: true, migrated: 0, left: ['web01'] });
    // And with the marker there, never at all, even when every value in the store is v1.
    await t.app.targets.remove('admin', 'web02');
    expect(existsSync(bindingMarkerPath(t.dir))).toBe(true);
    expect(await migrateBindings(t.app.store, t.app.vault, t.dir)).toEqual({ ran: false, migrated: 0, left: ['web01'] });
    expect((await t.app.store.targets.byId(tgt.id))!.credentialSealed).toBe(legacy);
    const stored = (await t.app.store.targets.byId(tgt.id))!;
    expect(() => t.app.creds.checkout(grant, stored)).toThrow(CredentialUnbound);
  });

  it('move from v1 once, at the first start of an upgraded data dir, bound to the target as it stands then', async () => {
    t = await testApp();
    const a = await addSshTarget(t.app, 'web01', 'secret-one');
    const b = await addSshTarget(t.app, 'web02', 'secret-two');
    // An upgraded data dir: every target credential still v1, no marker.
    for (const [tgt, secret] of [[a, 'secret-one'], [b, 'secret-two']] as const) {
      await t.app.store.targets.update({ ...tgt, credentialSealed: t.app.vault.seal(secret, aadFor.legacyTarget(tgt.id)) });
    }
    rmSync(bindingMarkerPath(t.dir), { force: true });
    expect(await migrateBindings(t.app.store, t.app.vault, t.dir)).toEqual({ ran: true, migrated: 2, left: [] });
    expect(existsSync(bindingMarkerPath(t.dir))).toBe(true);
    const after = (await t.app.store.targets.byId(a.id))!;
    expect(after.credentialSealed.startsWith('v2.')).toBe(true);
    const c = t.app.creds.checkout(await grantFor('web01'), after);
    expect(c.secret.toString()).toBe('secret-one');
    c.wipe();
    // Once is once: a second start changes nothing.
    expect(await migrateBindings(t.app.store, t.app.vault, t.dir)).toEqual({ ran: false, migrated: 0, left: [] });
  });
});
