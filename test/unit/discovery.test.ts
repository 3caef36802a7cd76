// Discovery's decisions, with the real services and store and a fake AdminSession standing in for a
// target (the per-protocol listings are tested against real servers in their own files): which
// accounts count as managed, what is kept across runs, what the schedule alerts on and how often.
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../gateway/app.js';
import { defaultConfig, discoveryInterval, loadConfig } from '../../gateway/config/config.js';
import { type AdminLogin, type AdminSession, type PrivilegedAccount, ProvisionError } from '../../gateway/provision/provisioner.js';
import type { EphemeralAccountRecord, TargetRecord } from '../../gateway/store/records.js';
import { PortcullisError } from '../../gateway/util/errors.js';
import { webhookText } from '../../gateway/webhooks/messages.js';
import { type TestApp, addSshTarget, testApp } from '../support/test-app.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A target as the fake sees it: what discover() lists, or how it fails. */
class FakeTarget {
  accounts: PrivilegedAccount[] = [];
  fail: Error | null = null;
  logins = 0;
  closed = 0;
  secrets: Buffer[] = [];
  readonly login: AdminLogin = (_t, cred) => {
    this.logins++;
    this.secrets.push(cred.secret);
    cred.wipe();
    if (this.fail) return Promise.reject(this.fail);
    const session: AdminSession = {
      discover: () => Promise.resolve(this.accounts.map((a) => ({ ...a }))),
      createAccount: () => Promise.reject(new Error('not in this test')),
      dropAccount: () => Promise.reject(new Error('not in this test')),
      checkProvisioner: () => Promise.resolve([]),
      setOwnSecret: () => Promise.reject(new Error('not in this test')),
      close: () => { this.closed++; return Promise.resolve(); },
    };
    return Promise.resolve(session);
  };
}

let t: TestApp;
let target: FakeTarget;
let posts: Array<{ event: string; text: string; data: Record<string, unknown> }>;

async function setup(config: { interval?: string } = {}): Promise<void> {
  target = new FakeTarget();
  posts = [];
  t = await testApp({
    adminLogins: { ssh: target.login },
    config: (c) => {
      c.webhooks = [{ url: 'http://hooks.test/x', events: [] }];
      c.discovery.interval = config.interval ?? 'off';
    },
    poster: (_u, body) => { posts.push(JSON.parse(body) as (typeof posts)[number]); return Promise.resolve(204); },
  });
}

afterEach(async () => { await t?.close(); });

const flush = async (): Promise<void> => { for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); };
const audited = async (app: App, code: string): Promise<Array<Record<string, unknown>>> =>
  (await app.store.audit.page(0, 10_000)).filter((r) => r.code === code).map((r) => JSON.parse(r.data) as Record<string, unknown>);
const alerts = (event: string): typeof posts => posts.filter((p) => p.event === event);

/** An ephemeral account of a grant on the target, as the ephemeral service would have written it. */
async function ephemeralFor(app: App, tgt: TargetRecord, grantId: string, account: string, state: EphemeralAccountRecord['state'] = 'active'): Promise<void> {
  await app.store.ephemeral.insert({
    id: `eph_${account}`, targetId: tgt.id, grantId, account, level: 'default', state, secretSealed: null,
    createdAt: app.clock.now(), expiresAt: app.clock.now() + HOUR, dropAttempts: 0, lastError: null, droppedAt: null,
  });
}

describe('discovery', () => {
  it('marks the vaulted account and a live grant\'s ephemeral account managed, and everything else privileged not', async () => {
    await setup();
    const web = await addSshTarget(t.app);
    const ops = await t.user('ops', ['ops']);
    const live = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', HOUR, 'maintenance', null);
    await ephemeralFor(t.app, web, live.id, 'pcx_aaaaaaaaaaaa');
    target.accounts = [
      { account: 'root', privileges: ['uid-0', 'password'] },
      { account: 'pcx_aaaaaaaaaaaa', privileges: ['sudo-group:sudo'] },
      { account: 'mallory', privileges: ['sudo', 'authorized-keys'] },
    ];
    const run = await t.app.discovery.discover('admin', 'web01');
    expect(run.accounts.map((a) => [a.account, a.managed, a.managedAs])).toEqual([
      ['mallory', false, null],
      ['pcx_aaaaaaaaaaaa', true, `ephemeral account of grant ${live.id} (user ops, level default)`],
      ['root', true, 'vaulted account'],
    ]);
    expect(run.accounts.every((a) => a.new)).toBe(true);
    expect(ops.name).toBe('ops');
    // Logged in once, closed once, and the checked-out secret was wiped.
    expect([target.logins, target.closed]).toEqual([1, 1]);
    expect(target.secrets[0]!.every((b) => b === 0)).toBe(true);
  });

  it('calls the vaulted account of an ephemeral target the provisioner, and an ended grant\'s account unmanaged until dropped', async () => {
    await setup();
    await addSshTarget(t.app);
    // The mode is bound to the credential: switched through the service, with the credential.
    const web = (await t.app.targets.update('admin', 'web01', { credentialMode: 'ephemeral', password: 'target-secret-1' })).target;
    await t.user('ops', ['ops']);
    const ended = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 10 * MIN, 'short', null);
    await ephemeralFor(t.app, web, ended.id, 'pcx_bbbbbbbbbbbb');
    const revoked = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', HOUR, 'revoked soon', null);
    await ephemeralFor(t.app, web, revoked.id, 'pcx_cccccccccccc', 'dropping');
    await t.app.grants.revoke(t.admin, revoked.id, 'done');
    t.clock.advance(11 * MIN);
    target.accounts = [
      { account: 'root', privileges: ['uid-0'] },
      { account: 'pcx_bbbbbbbbbbbb', privileges: ['sudo'] },
      { account: 'pcx_cccccccccccc', privileges: ['sudo'] },
    ];
    const run = await t.app.discovery.discover('admin', 'web01');
    const by = Object.fromEntries(run.accounts.map((a) => [a.account, a]));
    expect(by.root).toMatchObject({ managed: true, managedAs: 'provisioner' });
    expect(by.pcx_bbbbbbbbbbbb).toMatchObject({ managed: false, managedAs: expect.stringContaining('ephemeral account awaiting drop') as string });
    expect(by.pcx_cccccccccccc).toMatchObject({ managed: false, managedAs: expect.stringContaining('ephemeral account awaiting drop') as string });
    expect(run.accounts.slice(0, 2).every((a) => !a.managed)).toBe(true);
  });

  it('matches MySQL accounts by user and host: only the login\'s own row is the vaulted account, only the \'%\' row of a live ephemeral user is managed', async () => {
    target = new FakeTarget();
    posts = [];
    t = await testApp({ adminLogins: { mysql: target.login } });
    const db = await t.app.targets.add('admin', { name: 'shop-db', kind: 'mysql', host: '127.0.0.1', account: 'pc_admin', password: 'pw-1', tls: 'disable' });
    await t.user('dba', ['dba']);
    const g = await t.app.grants.adminGrant(t.admin, 'dba', 'shop-db', HOUR, 'migration', null);
    await ephemeralFor(t.app, db, g.id, 'pcx_dddddddddddd');
    target.accounts = [
      { account: "'pc_admin'@'%'", privileges: ['all-privileges'], self: true },
      { account: "'pc_admin'@'10.6.6.6'", privileges: ['all-privileges'] },
      { account: "'pcx_dddddddddddd'@'%'", privileges: ['global:SELECT'] },
      { account: "'pcx_dddddddddddd'@'evil'", privileges: ['super'] },
      { account: "'root'@'localhost'", privileges: ['all-privileges', 'grant-option'] },
      { account: "'pc_admin_old'@'%'", privileges: ['super'] },
    ];
    const run = await t.app.discovery.discover('admin', 'shop-db');
    const marks = Object.fromEntries(run.accounts.map((a) => [a.account, a.managed]));
    expect(marks).toEqual({
      "'pc_admin'@'%'": true, "'pc_admin'@'10.6.6.6'": false, "'pcx_dddddddddddd'@'%'": true, "'pcx_dddddddddddd'@'evil'": false,
      "'root'@'localhost'": false, "'pc_admin_old'@'%'": false,
    });
  });

  it('keeps first seen across runs, marks an account gone, and alerts again when it comes back', async () => {
    await setup();
    const web = await addSshTarget(t.app);
    target.accounts = [{ account: 'root', privileges: ['uid-0'] }, { account: 'mallory', privileges: ['uid-0'] }];
    const t0 = t.clock.now();
    await t.app.discovery.discover('admin', 'web01');
    await flush();
    expect(alerts('discovery.unmanaged_found').map((p) => p.data.account)).toEqual(['mallory']);

    t.clock.advance(HOUR);
    const second = await t.app.discovery.discover('admin', 'web01');
    expect(second.accounts.find((a) => a.account === 'mallory')).toMatchObject({ new: false, firstSeenAt: t0, lastSeenAt: t0 + HOUR });
    await flush();
    expect(alerts('discovery.unmanaged_found')).toHaveLength(1);

    t.clock.advance(HOUR);
    target.accounts = [{ account: 'root', privileges: ['uid-0'] }];
    const third = await t.app.discovery.discover('admin', 'web01');
    expect(third.gone).toEqual(['mallory']);
    expect(await t.app.store.findings.byAccount(web.id, 'mallory')).toMatchObject({ goneAt: t0 + 2 * HOUR, firstSeenAt: t0, lastSeenAt: t0 + HOUR });

    t.clock.advance(HOUR);
    target.accounts = [{ account: 'root', privileges: ['uid-0'] }, { account: 'mallory', privileges: ['uid-0', 'authorized-keys'] }];
    const fourth = await t.app.discovery.discover('admin', 'web01');
    expect(fourth.accounts[0]).toMatchObject({ account: 'mallory', new: true, managed: false, privileges: ['authorized-keys', 'uid-0'] });
    expect(await t.app.store.findings.byAccount(web.id, 'mallory')).toMatchObject({ goneAt: null, firstSeenAt: t0, lastSeenAt: t0 + 3 * HOUR });
    await flush();
    expect(alerts('discovery.unmanaged_found')).toHaveLength(2);
    expect((await audited(t.app, 'discovery.unmanaged_found')).map((r) => r.account)).toEqual(['mallory', 'mallory']);
    expect(await audited(t.app, 'discovery.ran')).toHaveLength(4);
  });

  it('runs on schedule, alerts once for a new unmanaged account and not again on the next run', async () => {
    await setup({ interval: '1h' });
    await addSshTarget(t.app);
    await addSshTarget(t.app, 'web02');
    await t.app.targets.add('admin', { name: 'db01', kind: 'postgres', host: '127.0.0.1', account: 'pc', password: 'pw-1', tls: 'disable' });
    target.accounts = [{ account: 'root', privileges: ['uid-0'] }, { account: 'backdoor', privileges: ['uid-0'] }];
    t.app.discoverySchedule.start();
    t.clock.advance(HOUR);
    await flush();
    // Both SSH targets, one after the other; the postgres target has no provisioner in this app.
    expect(target.logins).toBe(2);
    expect(alerts('discovery.unmanaged_found').map((p) => [p.data.target, p.data.account])).toEqual([['web01', 'backdoor'], ['web02', 'backdoor']]);
    expect(alerts('discovery.unmanaged_found')[0]!.text).toContain('`backdoor`');
    t.clock.advance(HOUR);
    await flush();
    expect(target.logins).toBe(4);
    expect(alerts('discovery.unmanaged_found')).toHaveLength(2);
    expect((await audited(t.app, 'discovery.ran')).map((r) => r.trigger)).toEqual(['schedule', 'schedule', 'schedule', 'schedule']);
  });

  it('alerts once per failure streak, audits every failure, and alerts again after a success and a new failure', async () => {
    await setup({ interval: '1h' });
    await addSshTarget(t.app);
    target.fail = new ProvisionError('unreachable', 'connection refused');
    t.app.discoverySchedule.start();
    for (let i = 0; i < 3; i++) { t.clock.advance(HOUR); await flush(); }
    expect(alerts('discovery.failed')).toHaveLength(1);
    expect(alerts('discovery.failed')[0]!.data).toMatchObject({ target: 'web01', error: expect.stringContaining('cannot reach 127.0.0.1:22') as string });
    expect(await audited(t.app, 'discovery.failed')).toHaveLength(3);
    target.fail = null;
    t.clock.advance(HOUR); await flush();
    target.fail = new ProvisionError('refused', 'password authentication failed');
    t.clock.advance(HOUR); await flush();
    t.clock.advance(HOUR); await flush();
    expect(alerts('discovery.failed')).toHaveLength(2);
  });

  it('never runs the schedule when the interval is off, and refuses intervals under a minute', async () => {
    await setup({ interval: 'off' });
    await addSshTarget(t.app);
    t.app.discoverySchedule.start();
    t.clock.advance(10 * HOUR);
    await flush();
    expect(target.logins).toBe(0);
    expect(() => discoveryInterval({ discovery: { interval: '10s' } })).toThrow(/at least 1m/);
    expect(discoveryInterval({ discovery: { interval: '0' } })).toBe(0);
    expect(discoveryInterval({ discovery: { interval: '2h' } })).toBe(2 * HOUR);
    expect(loadConfig({ data: t.dir, env: { PORTCULLIS_DISCOVERY_INTERVAL: '6h' } }).discovery.interval).toBe('6h');
    expect(() => loadConfig({ data: t.dir, env: { PORTCULLIS_DISCOVERY_INTERVAL: '30s' } })).toThrow(/discovery.interval must be at least 1m/);
    expect(defaultConfig(t.dir).discovery.interval).toBe('1h');
  });

  it('says clearly why a run failed, audits it, and never leaks the credential', async () => {
    await setup();
    await addSshTarget(t.app, 'web01', 'Sup3r-Secret-Target-Pw');
    await t.app.targets.add('admin', { name: 'db01', kind: 'postgres', host: '127.0.0.1', account: 'pc', password: 'pw-1', tls: 'disable' });
    target.fail = new ProvisionError('missing-right', 'sudo: /usr/bin/getent not allowed');
    const e1 = await t.app.discovery.discover('admin', 'web01').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(PortcullisError);
    expect((e1 as PortcullisError).message).toBe('discovery on web01: the vaulted account root lacks a right: sudo: /usr/bin/getent not allowed');
    const e2 = await t.app.discovery.discover('admin', 'db01').catch((e: unknown) => e);
    expect((e2 as PortcullisError).code).toBe('bad-request');
    expect((e2 as PortcullisError).message).toContain('no postgres provisioner');
    await expect(t.app.discovery.discover('admin', 'nope')).rejects.toThrow(/no target "nope"/);
    const failed = await audited(t.app, 'discovery.failed');
    expect(failed.map((f) => f.target)).toEqual(['web01', 'db01']);
    const all = JSON.stringify(await t.app.store.audit.page(0, 10_000));
    expect(all).not.toContain('Sup3r-Secret-Target-Pw');
    expect(target.secrets[0]!.every((b) => b === 0)).toBe(true);
  });

  it('gives up on a target that hangs, and closes its session if it opens later', async () => {
    let release: (s: AdminSession) => void = () => {};
    let closed = 0;
    const hanging: AdminLogin = (_t, cred) => { cred.wipe(); return new Promise<AdminSession>((r) => { release = r; }); };
    t = await testApp({ adminLogins: { ssh: hanging } });
    await addSshTarget(t.app);
    const run = t.app.discovery.discover('admin', 'web01').catch((e: unknown) => e);
    await flush();
    t.clock.advance(61_000);
    const err = await run;
    expect((err as PortcullisError).message).toMatch(/timed out after 60s logging in/);
    release({ close: () => { closed++; return Promise.resolve(); } } as unknown as AdminSession);
    await flush();
    expect(closed).toBe(1);
  });

  it('drops hostile or malformed rows and bounds what a target may report', async () => {
    await setup();
    const web = await addSshTarget(t.app);
    target.accounts = [
      { account: 'x"; DROP TABLE discovery_findings; --', privileges: ['uid-0', 'uid-0'] },
      { account: '', privileges: ['sudo'] },
      { account: 'a'.repeat(300), privileges: ['sudo'] },
      { account: 'ok', privileges: [42 as unknown as string, 'sudo'] },
    ];
    const run = await t.app.discovery.discover('admin', 'web01');
    expect(run.accounts.map((a) => [a.account, a.privileges])).toEqual([['ok', ['sudo']], ['x"; DROP TABLE discovery_findings; --', ['uid-0']]]);
    expect(await t.app.store.findings.list({ targetId: web.id })).toHaveLength(2);
    const text = webhookText('discovery.unmanaged_found', { target: 'web01', account: '<!channel> x', privileges: ['sudo-group:<b>'], found_at: '' });
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<b>');
  });

  it('removes a target\'s findings with the target', async () => {
    await setup();
    const web = await addSshTarget(t.app);
    await addSshTarget(t.app, 'web02');
    target.accounts = [{ account: 'mallory', privileges: ['uid-0'] }];
    await t.app.discovery.discover('admin', 'web01');
    await t.app.discovery.discover('admin', 'web02');
    await t.app.targets.remove('admin', 'web01');
    expect(await t.app.store.findings.list({ targetId: web.id })).toEqual([]);
    expect((await t.app.discovery.findings()).map((f) => f.target.name)).toEqual(['web02']);
  });
});
