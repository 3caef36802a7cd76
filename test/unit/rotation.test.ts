// Rotation of static credentials (issue 15 item 4) through the real services, store, vault, audit
// log and webhooks, with a fake target account (fake AdminSession + fake login probe) and a fake
// clock: a manual rotation commits a secret that logs in and the old one stops; a failing change
// keeps the old credential and alerts; a failing verify settles by the recovery rules; a checkout
// during a rotation waits and gets the new secret; after-session rotation happens once for sessions
// ending together and waits for a session still logging in; daily rotation follows the clock; no
// secret ever reaches audit data, logs, events, webhooks, results or errors.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../gateway/log/logger.js';
import { StaticCredentials } from '../../gateway/session/credentials.js';
import type { GrantRecord, TargetRecord } from '../../gateway/store/records.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';
import { FakeRotationTarget } from '../support/fake-rotation-target.js';
import ssh2 from 'ssh2';

const OLD = 'Old-Target-Secret-1';
const MIN = 60_000;
const DAY = 24 * 3600_000;

let t: TestApp;
const fakes = new Map<string, FakeRotationTarget>();
const logLines: string[] = [];
const posted: string[] = [];

async function setup(): Promise<void> {
  t = await testApp({
    config: (c) => { c.webhooks = [{ url: 'https://hooks.example.test/rotation', events: [] }]; },
    poster: (_url, body) => { posted.push(body); return Promise.resolve(200); },
    adminLogins: { ssh: (tg, cred) => fakes.get(tg.name)!.login(tg, cred) },
    loginProbes: { ssh: (tg, cred) => fakes.get(tg.name)!.probe(tg, cred) },
    log: createLogger('debug', { write: (s: string) => { logLines.push(s); } }),
  });
}

afterEach(async () => {
  await t.close();
  fakes.clear();
  logLines.length = 0;
  posted.length = 0;
});

async function passwordTarget(name = 'web01'): Promise<FakeRotationTarget> {
  await addSshTarget(t.app, name, OLD);
  const f = new FakeRotationTarget('password', OLD);
  fakes.set(name, f);
  return f;
}

const vaulted = async (name = 'web01'): Promise<string> => {
  const c = t.app.creds.checkoutForCheck(await t.app.targets.get(name));
  const s = c.secret.toString();
  c.wipe();
  return s;
};

const audit = async (code: string): Promise<Array<Record<string, unknown>>> =>
  (await t.app.audit.page(0, 10_000)).filter((e) => e.code === code).map((e) => e.data as Record<string, unknown>);

async function until(what: () => Promise<boolean> | boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function withRotate(name: string, mode: TargetRecord['rotate']): Promise<TargetRecord> {
  const cur = await t.app.targets.get(name);
  const rec = { ...cur, rotate: mode };
  await t.app.store.targets.update(rec);
  return rec;
}

/** Nothing a user or an operator can see carries any of these secrets. */
async function expectNoSecret(secrets: string[], extra: unknown[] = []): Promise<void> {
  const seen = JSON.stringify([await t.app.audit.page(0, 10_000), logLines, posted, extra]);
  for (const s of secrets) expect(seen).not.toContain(s);
}

describe('rotating a static credential', () => {
  it('rotate: the new secret is set, verified and committed; the old one no longer logs in; audited without the secret', async () => {
    await setup();
    const f = await passwordTarget();
    const r = await t.app.rotation.rotate('web01', 'manual', 'admin');
    const now = await vaulted();
    expect(r).toEqual({ target: 'web01', rotatedAt: t.clock.now(), verified: true });
    expect(now).not.toBe(OLD);
    expect(now).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(f.logsIn(now)).toBe(true);
    expect(f.logsIn(OLD)).toBe(false);
    const rec = await t.app.targets.get('web01');
    expect(rec).toMatchObject({ pendingCredentialSealed: null, rotatedAt: t.clock.now() });
    expect(await audit('credential.rotated')).toEqual([{ target: 'web01', trigger: 'manual', verified: true }]);
    expect(logLines.some((l) => l.includes('"msg":"credential.rotated"'))).toBe(true);
    await expectNoSecret([OLD, now], [r]);
  });

  it('keys: a fresh Ed25519 key is added, verified, the old key retired, verified again, committed', async () => {
    await setup();
    const oldKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    await t.app.targets.add('admin', { name: 'key01', kind: 'ssh', host: '127.0.0.1', account: 'deploy', privateKey: oldKey, hostKey: 'SHA256:' + 'A'.repeat(43) });
    const f = new FakeRotationTarget('private-key', oldKey);
    fakes.set('key01', f);
    const r = await t.app.rotation.rotate('key01', 'manual', 'admin');
    const now = await vaulted('key01');
    expect(r).toMatchObject({ verified: true, oldKeyRetired: true });
    expect(now).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(ssh2.utils.parseKey(now)).toMatchObject({ type: 'ssh-ed25519' });
    expect(f.accepted).toEqual([now]);
    expect(f.retireCalls).toBe(1);
    await expectNoSecret([oldKey, now], [r]);
  });

  it('a failing change keeps the old credential, clears pending, audits the step and alerts by webhook', async () => {
    await setup();
    const f = await passwordTarget();
    f.failSet = 'permission denied to alter role';
    const alerts: unknown[] = [];
    t.app.events.on('credential.rotation_failed', (e) => alerts.push(e));
    const err = await t.app.rotation.rotate('web01', 'manual', 'admin').then(() => new Error('rotated'), (e: unknown) => e as Error);
    expect(err).toMatchObject({ code: 'conflict', message: expect.stringMatching(/failed at set: permission denied to alter role; the vault holds the old secret/) as unknown });
    expect(await vaulted()).toBe(OLD);
    expect((await t.app.targets.get('web01')).pendingCredentialSealed).toBeNull();
    expect(await audit('credential.rotation_failed')).toEqual([{ target: 'web01', trigger: 'manual', step: 'set', reason: 'permission denied to alter role', outcome: 'kept-old' }]);
    expect(alerts).toEqual([expect.objectContaining({ target: 'web01', step: 'set', outcome: 'kept-old' })]);
    const alerted = (): Array<Record<string, unknown>> => posted.map((b) => JSON.parse(b) as Record<string, unknown>).filter((b) => b.event === 'credential.rotation_failed');
    await until(() => alerted().length > 0);
    expect(alerted()[0]).toMatchObject({ event: 'credential.rotation_failed', text: expect.stringContaining('rotating the credential of web01 failed at set') as unknown });
    await expectNoSecret([OLD, ...f.received], [err.message]);
  });

  it('a target that is down before the change is sent: pending dropped without probing, old kept, alerted; works once it is back', async () => {
    await setup();
    const f = await passwordTarget();
    f.down = true;
    await expect(t.app.rotation.rotate('web01', 'manual', 'admin')).rejects.toThrow(/failed at set: connection refused; the vault holds the old secret/);
    expect((await t.app.targets.get('web01')).pendingCredentialSealed).toBeNull();
    expect(await audit('credential.rotation_failed')).toEqual([expect.objectContaining({ step: 'set', outcome: 'kept-old' })]);
    f.down = false;
    await t.app.rotation.rotate('web01', 'manual', 'admin');
    expect(f.logsIn(await vaulted())).toBe(true);
  });

  it('a verify that fails while the target ignored the change rolls back: old kept, pending cleared', async () => {
    await setup();
    const f = await passwordTarget();
    f.ignoreSet = true;
    await expect(t.app.rotation.rotate('web01', 'manual', 'admin')).rejects.toThrow(/failed at verify: a fresh login with the new secret failed/);
    expect(await vaulted()).toBe(OLD);
    expect((await t.app.targets.get('web01')).pendingCredentialSealed).toBeNull();
    expect(await audit('credential.rotation_failed')).toEqual([expect.objectContaining({ step: 'verify', outcome: 'kept-old' })]);
  });

  it('a verify that fails although the change happened: neither logs in through the probe → both kept, one alert, rotation refused while that lasts, settled once the fault heals', async () => {
    await setup();
    const f = await passwordTarget();
    f.probeRefuses = () => true;
    await expect(t.app.rotation.rotate('web01', 'manual', 'admin')).rejects.toThrow(/neither secret logs in: enter the credential again with portcullis target update web01/);
    const rec = await t.app.targets.get('web01');
    expect(rec.pendingCredentialSealed).not.toBeNull();
    expect(await vaulted()).toBe(OLD);
    expect(await audit('credential.rotation_failed')).toEqual([expect.objectContaining({ step: 'verify', outcome: 'stuck' })]);
    // Refused without touching the target or alerting again while neither logs in.
    const calls = f.setCalls;
    await expect(t.app.rotation.rotate('web01', 'manual', 'admin')).rejects.toThrow(/no rotation until an admin enters the credential again: portcullis target update web01 --password-stdin/);
    expect(f.setCalls).toBe(calls);
    expect(await audit('credential.rotation_failed')).toHaveLength(1);
    // The fault heals: the next rotation settles the pending secret first (it logs in), then rotates.
    f.probeRefuses = null;
    const r = await t.app.rotation.rotate('web01', 'manual', 'admin');
    expect(r.recovered).toBe('committed-new');
    expect(f.logsIn(await vaulted())).toBe(true);
    expect(f.accepted).toHaveLength(1);
    await expectNoSecret([OLD, ...f.received]);
  });

  it('an ephemeral target rotates its provisioner credential the same way', async () => {
    await setup();
    const f = await passwordTarget();
    // The mode is bound to the credential: switched through the service, with the credential.
    await t.app.targets.update('admin', 'web01', { credentialMode: 'ephemeral', password: OLD });
    await t.app.rotation.rotate('web01', 'manual', 'admin');
    expect(f.logsIn(await vaulted())).toBe(true);
    expect(f.logsIn(OLD)).toBe(false);
  });

  it('a kind without a provisioner, or an unknown target, is a clear error', async () => {
    await setup();
    await addSshTarget(t.app, 'web01', OLD);
    await expect(t.app.rotation.rotate('nope', 'manual', 'admin')).rejects.toMatchObject({ code: 'not-found' });
    // A kind whose protocol has no provisioner login: refused before anything is sealed or sent.
    const cur = await t.app.targets.get('web01');
    await t.app.store.targets.update({ ...cur, kind: 'postgres' });
    await expect(t.app.rotation.rotate('web01', 'manual', 'admin')).rejects.toThrow(/postgres targets cannot rotate their credential: this gateway has no postgres provisioner/);
    expect((await t.app.store.targets.byName('web01'))?.pendingCredentialSealed).toBeNull();
  });
});

describe('rotation and sessions', () => {
  const grantFor = async (target = 'web01'): Promise<GrantRecord> => {
    await t.user('ops', ['ops']).catch(() => undefined);
    return t.app.grants.adminGrant(t.admin, 'ops', target, 60 * MIN, 'work', null);
  };

  it('a checkout during a rotation waits for it and gets the new secret', async () => {
    await setup();
    const f = await passwordTarget();
    const grant = await grantFor();
    const target = await t.app.targets.get('web01');
    let go!: () => void;
    f.holdSet = new Promise((r) => { go = r; });
    const rotating = t.app.rotation.rotate('web01', 'manual', 'admin');
    await until(() => f.setCalls === 1);
    const creds = new StaticCredentials(t.app.creds, t.app.rotationTriggers);
    let got: string | null = null;
    const issuing = creds.issue(grant, target).then((c) => { got = c.secret.toString(); c.wipe(); });
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toBeNull();
    go();
    await rotating;
    await issuing;
    expect(got).not.toBe(OLD);
    expect(f.logsIn(got!)).toBe(true);
  });

  it('after-session: two sessions ending together cause one rotation, after a session still logging in has finished', async () => {
    await setup();
    const f = await passwordTarget();
    await withRotate('web01', 'after-session');
    const grant = await grantFor();
    const target = await t.app.targets.get('web01');
    const creds = new StaticCredentials(t.app.creds, t.app.rotationTriggers);
    const a = await creds.issue(grant, target);
    const b = await creds.issue(grant, target);
    a.wipe();
    b.wipe();
    // A third session is between checkout and its upstream login (not wiped yet).
    const c = await creds.issue(grant, target);
    expect(c.secret.toString()).toBe(OLD);
    await creds.revoke(a);
    await creds.revoke(b);
    t.clock.advance(1000);
    await creds.revoke(a); // idempotent: no second trigger
    t.clock.advance(10_000);
    await new Promise((r) => setTimeout(r, 30));
    // Held off by the login in progress: the old secret still logs in.
    expect(f.setCalls).toBe(0);
    expect(f.logsIn(c.secret.toString())).toBe(true);
    c.wipe();
    await until(async () => (await audit('credential.rotated')).length === 1);
    expect(await audit('credential.rotated')).toEqual([{ target: 'web01', trigger: 'after-session', verified: true }]);
    expect(f.setCalls).toBe(1);
    t.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.setCalls).toBe(1);
    expect(f.logsIn(await vaulted())).toBe(true);
  });

  it('after-session does nothing on a target whose mode is off', async () => {
    await setup();
    const f = await passwordTarget();
    const grant = await grantFor();
    const creds = new StaticCredentials(t.app.creds, t.app.rotationTriggers);
    const a = await creds.issue(grant, await t.app.targets.get('web01'));
    await creds.revoke(a);
    t.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.setCalls).toBe(0);
  });

  it('daily: rotated once per 24 h from the start, then from the last rotation', async () => {
    await setup();
    const f = await passwordTarget();
    await withRotate('web01', 'daily');
    t.app.rotationTriggers.start();
    await new Promise((r) => setTimeout(r, 20));
    t.clock.advance(DAY - MIN);
    await new Promise((r) => setTimeout(r, 20));
    expect(f.setCalls).toBe(0);
    t.clock.advance(MIN);
    await until(() => f.setCalls === 1);
    await until(async () => (await audit('credential.rotated')).length === 1);
    t.clock.advance(DAY);
    await until(() => f.setCalls === 2);
    await until(async () => (await audit('credential.rotated')).length === 2);
    expect((await audit('credential.rotated')).map((e) => e.trigger)).toEqual(['daily', 'daily']);
    expect(f.logsIn(await vaulted())).toBe(true);
  });
});
