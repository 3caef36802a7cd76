// Rotation interrupted at each step (issue 15 item 4, "a rotation interrupted at each step"): the
// store and the fake target are put in the state a crash at that point leaves, then the start's
// recovery runs. The vault must end up holding a credential that logs in, and say which: after (a)
// the change never happened (pending cleared); after (b) or after the verify the target already has
// the new secret (committed); keys after the add (old key retired, then committed) and after the
// retire (committed); neither logging in keeps both, alerts, and refuses rotation until the admin
// enters the credential again. A rotation of a target with a pending secret settles it first.
import { afterEach, describe, expect, it } from 'vitest';
import { newSecretLike } from '../../gateway/provision/new-secret.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';
import { FakeRotationTarget } from '../support/fake-rotation-target.js';
import ssh2 from 'ssh2';

const OLD = 'Old-Target-Secret-1';
let t: TestApp;
const fakes = new Map<string, FakeRotationTarget>();

async function setup(): Promise<void> {
  t = await testApp({
    adminLogins: { ssh: (tg, cred) => fakes.get(tg.name)!.login(tg, cred) },
    loginProbes: { ssh: (tg, cred) => fakes.get(tg.name)!.probe(tg, cred) },
  });
}

afterEach(async () => {
  await t.close();
  fakes.clear();
});

/** Step (a) as the engine does it: the new secret sealed as pending for the target as it stands. */
async function leavePending(name: string, secret: string): Promise<void> {
  const cur = await t.app.targets.get(name);
  await t.app.store.targets.update({ ...cur, pendingCredentialSealed: t.app.creds.sealFor(cur, secret) });
}

const vaulted = async (name = 'web01'): Promise<string> => {
  const c = t.app.creds.checkoutForCheck(await t.app.targets.get(name));
  const s = c.secret.toString();
  c.wipe();
  return s;
};

const audit = async (code: string): Promise<Array<Record<string, unknown>>> =>
  (await t.app.audit.page(0, 10_000)).filter((e) => e.code === code).map((e) => e.data as Record<string, unknown>);

async function passwordTarget(): Promise<FakeRotationTarget> {
  await addSshTarget(t.app, 'web01', OLD);
  const f = new FakeRotationTarget('password', OLD);
  fakes.set('web01', f);
  return f;
}

async function keyTarget(): Promise<{ f: FakeRotationTarget; oldKey: string }> {
  const oldKey = ssh2.utils.generateKeyPairSync('ed25519').private;
  await t.app.targets.add('admin', { name: 'web01', kind: 'ssh', host: '127.0.0.1', account: 'deploy', privateKey: oldKey, hostKey: 'SHA256:' + 'A'.repeat(43) });
  const f = new FakeRotationTarget('private-key', oldKey);
  fakes.set('web01', f);
  return { f, oldKey };
}

describe('a rotation interrupted by a crash, recovered at start', () => {
  it('after (a), the new secret sealed but never set: pending cleared, the old credential kept', async () => {
    await setup();
    const f = await passwordTarget();
    await leavePending('web01', 'never-set-secret-0000000000000000000000000');
    expect(await t.app.rotation.recoverAll()).toEqual([{ target: 'web01', outcome: 'kept-old' }]);
    expect(await t.app.targets.get('web01')).toMatchObject({ pendingCredentialSealed: null, rotatedAt: null });
    expect(await vaulted()).toBe(OLD);
    expect(f.logsIn(OLD)).toBe(true);
    expect(await audit('credential.rotation_failed')).toEqual([]);
  });

  it('after (b), set on the target but not verified: the pending secret logs in and is committed', async () => {
    await setup();
    const f = await passwordTarget();
    const next = newSecretLike('password').secret.toString();
    await leavePending('web01', next);
    f.accepted = [next];
    expect(await t.app.rotation.recoverAll()).toEqual([{ target: 'web01', outcome: 'committed-new' }]);
    expect(await vaulted()).toBe(next);
    expect(await t.app.targets.get('web01')).toMatchObject({ pendingCredentialSealed: null, rotatedAt: t.clock.now() });
    expect(await audit('credential.rotated')).toEqual([{ target: 'web01', trigger: 'recovery', verified: true }]);
    expect(await audit('credential.rotation_failed')).toEqual([]);
  });

  it('after the verify, before the commit: committed the same way', async () => {
    await setup();
    const f = await passwordTarget();
    const next = newSecretLike('password').secret.toString();
    await leavePending('web01', next);
    f.accepted = [next];
    // The verify already ran once; recovery proves it again with a fresh login of its own, and
    // needs no admin login for a password (nothing to retire).
    const before = f.logins;
    await t.app.rotation.recoverAll();
    expect(await vaulted()).toBe(next);
    expect(f.logins).toBe(before);
    expect(f.logsIn(OLD)).toBe(false);
  });

  it('keys, after the add: both keys log in → the old key is retired, then the new one committed', async () => {
    await setup();
    const { f, oldKey } = await keyTarget();
    const next = newSecretLike('private-key').secret.toString();
    await leavePending('web01', next);
    f.accepted = [oldKey, next];
    expect(await t.app.rotation.recoverAll()).toEqual([{ target: 'web01', outcome: 'committed-new' }]);
    expect(f.accepted).toEqual([next]);
    expect(await vaulted()).toBe(next);
    expect(await audit('credential.rotated')).toEqual([{ target: 'web01', trigger: 'recovery', verified: true, oldKeyRetired: true }]);
  });

  it('keys, after the retire: only the new key logs in → committed', async () => {
    await setup();
    const { f } = await keyTarget();
    const next = newSecretLike('private-key').secret.toString();
    await leavePending('web01', next);
    f.accepted = [next];
    expect(await t.app.rotation.recoverAll()).toEqual([{ target: 'web01', outcome: 'committed-new' }]);
    expect(await vaulted()).toBe(next);
  });

  it('neither secret logs in: both kept, audited and alerted; rotation refused until the credential is entered again', async () => {
    await setup();
    const f = await passwordTarget();
    const alerts: unknown[] = [];
    t.app.events.on('credential.rotation_failed', (e) => alerts.push(e));
    await leavePending('web01', 'lost-secret-00000000000000000000000000000');
    f.accepted = ['changed-behind-our-back'];
    expect(await t.app.rotation.recoverAll()).toEqual([{ target: 'web01', outcome: 'stuck' }]);
    const rec = await t.app.targets.get('web01');
    expect(rec.pendingCredentialSealed).not.toBeNull();
    expect(await vaulted()).toBe(OLD);
    expect(await audit('credential.rotation_failed')).toEqual([expect.objectContaining({ trigger: 'recovery', step: 'recover', outcome: 'stuck' })]);
    expect(alerts).toHaveLength(1);
    await expect(t.app.rotation.rotate('web01', 'manual', 'admin')).rejects.toThrow(/no rotation until an admin enters the credential again/);
    expect(f.setCalls).toBe(0);
    await t.app.targets.update('admin', 'web01', { password: 'changed-behind-our-back' });
    expect((await t.app.targets.get('web01')).pendingCredentialSealed).toBeNull();
    await t.app.rotation.rotate('web01', 'manual', 'admin');
    expect(f.logsIn(await vaulted())).toBe(true);
  });

  it('a rotation of a target with a pending secret settles it first, then rotates', async () => {
    await setup();
    const f = await passwordTarget();
    const next = newSecretLike('password').secret.toString();
    await leavePending('web01', next);
    f.accepted = [next];
    const r = await t.app.rotation.rotate('web01', 'manual', 'admin');
    expect(r.recovered).toBe('committed-new');
    const now = await vaulted();
    expect(now).not.toBe(next);
    expect(f.accepted).toEqual([now]);
    expect((await audit('credential.rotated')).map((e) => e.trigger)).toEqual(['recovery', 'manual']);
  });

  it('the pending secret is bound like the credential: it survives a master key rotation and opens after it', async () => {
    await setup();
    const f = await passwordTarget();
    const next = newSecretLike('password').secret.toString();
    await leavePending('web01', next);
    f.accepted = [next];
    await t.app.creds.rotateKey();
    await t.app.rotation.recoverAll();
    expect(await vaulted()).toBe(next);
  });
});
