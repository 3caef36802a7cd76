// `target update` (issue 14 item 2) through the real services, store, audit log and live registry:
// re-pointing needs the credential again and seals it for the new settings; tags and database do
// not; live sessions to a re-pointed target end `target-changed`, grants stay; a tag change that
// takes the target out of a policy revokes the grants standing on it; every change is audited with
// what changed and never the secret.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewPolicy } from '../../gateway/access/policies.js';
import type { LiveSessionHandle } from '../../gateway/session/live-sessions.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import type { GrantRecord } from '../../gateway/store/records.js';
import { CredentialUnbound } from '../../gateway/vault/credential-vault.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';

const MIN = 60_000;
const OLD_SECRET = 'Old-Target-Secret-1';
const NEW_SECRET = 'New-Target-Secret-2';
let t: TestApp;

function live(g: GrantRecord, target = 'web01'): TerminationReason[] {
  const closed: TerminationReason[] = [];
  const h: LiveSessionHandle = {
    id: `s-${g.id}`, protocol: 'ssh', user: 'ops', target, grantId: g.id, clientAddr: '127.0.0.1',
    startedAt: t.clock.now(), expiresAt: g.expiresAt, warn: () => {}, close: (r) => closed.push(r),
  };
  t.app.live.register(h);
  return closed;
}

const audit = async (code: string): Promise<unknown[]> => (await t.app.audit.page(0, 10_000)).filter((e) => e.code === code).map((e) => e.data);

beforeEach(async () => {
  t = await testApp();
  await addSshTarget(t.app, 'web01', OLD_SECRET);
  await addSshTarget(t.app, 'web02');
  await t.user('ops', ['ops']);
});

afterEach(() => t.close());

describe('target update', () => {
  it('refuses to re-point without the credential, naming the fields and the command; nothing changes', async () => {
    const before = await t.app.targets.get('web01');
    for (const change of [{ host: '10.6.6.6' }, { port: 2222 }, { account: 'admin' }, { hostKey: 'SHA256:' + 'C'.repeat(43) }, { tls: 'require' as const }, { kind: 'postgres' as const },
      { tlsCaPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' }]) {
      await expect(t.app.targets.update('admin', 'web01', change)).rejects.toMatchObject({
        code: 'bad-request', message: expect.stringMatching(/changes where its credential is sent.*portcullis target update web01 \.\.\. --password-stdin/) as unknown,
      });
    }
    expect(await t.app.targets.get('web01')).toEqual(before);
    expect(await audit('target.updated')).toEqual([]);
  });

  it('re-points with the credential: sealed for the new settings, opens there, audited with what changed and never the secret', async () => {
    const grant = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 60 * MIN, 'work', null);
    const r = await t.app.targets.update('admin', 'web01', { host: '192.0.2.7', port: 2200, password: NEW_SECRET });
    expect(r).toMatchObject({ changed: ['host', 'port'], credential: 'replaced', repointed: true, grantsRevoked: 0 });
    const c = t.app.creds.checkout(grant, r.target);
    expect(c.secret.toString()).toBe(NEW_SECRET);
    c.wipe();
    // Grants stand on the target, not its address.
    expect((await t.app.store.grants.byId(grant.id))!.revokedAt).toBeNull();
    const entries = await audit('target.updated');
    expect(entries).toEqual([{ target: 'web01', changed: ['host', 'port'], credential: 'replaced', from: { host: '127.0.0.1', port: 22 }, to: { host: '192.0.2.7', port: 2200 } }]);
    const all = JSON.stringify(await t.app.audit.page(0, 10_000));
    expect(all).not.toContain(NEW_SECRET);
    expect(all).not.toContain(OLD_SECRET);
  });

  it('changes tags and database without the credential, keeps the sealed value, and leaves live sessions alone', async () => {
    const grant = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 60 * MIN, 'work', null);
    const closed = live(grant);
    const before = await t.app.targets.get('web01');
    const r = await t.app.targets.update('admin', 'web01', { tags: ['prod', 'eu'], database: 'ignored-for-ssh' });
    expect(r).toMatchObject({ changed: ['database', 'tags'], credential: 'kept', repointed: false });
    expect(r.target.credentialSealed).toBe(before.credentialSealed);
    expect(closed).toEqual([]);
    const c = t.app.creds.checkout(grant, r.target);
    expect(c.secret.toString()).toBe(OLD_SECRET);
    c.wipe();
  });

  it('replaces only the credential when that is all that is given (how an admin re-enters one), sessions go on', async () => {
    const grant = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 60 * MIN, 'work', null);
    const closed = live(grant);
    const r = await t.app.targets.update('admin', 'web01', { password: NEW_SECRET });
    expect(r).toMatchObject({ changed: [], credential: 'replaced', repointed: false });
    expect(closed).toEqual([]);
    await expect(t.app.targets.update('admin', 'web01', {})).rejects.toMatchObject({ code: 'bad-request', message: 'nothing to change on web01' });
  });

  it('ends live sessions to a re-pointed target with target-changed, and only those', async () => {
    const g1 = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 60 * MIN, 'work', null);
    const g2 = await t.app.grants.adminGrant(t.admin, 'ops', 'web02', 60 * MIN, 'work', null);
    const on1 = live(g1);
    const on2 = live(g2, 'web02');
    await t.app.targets.update('admin', 'web01', { port: 2222, password: NEW_SECRET });
    expect(on1).toEqual(['target-changed']);
    expect(on2).toEqual([]);
  });

  it('revokes grants whose policy matched the target by a tag it no longer has (policy-narrowed)', async () => {
    const p: NewPolicy = {
      name: 'ops-tagged', roles: ['ops'], targets: [], targetTags: ['prod'], maxDurationMs: 2 * 60 * MIN, requireReason: true, ticketPattern: null,
      approvalsRequired: 0, approverRoles: [], autoApprove: { roles: [], days: [], fromHour: null, toHour: null, onCall: [] }, breakglass: false,
      recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [],
    };
    await t.app.policies.add('admin', p);
    await t.app.targets.update('admin', 'web01', { tags: ['prod'] });
    const ops = (await t.app.store.users.byName('ops'))!;
    const req = await t.app.requests.create(ops, { target: 'web01', durationMs: 30 * MIN, reason: 'work' });
    const grant = (await t.app.store.grants.byId(req.grantId!))!;
    const closed = live(grant);
    const r = await t.app.targets.update('admin', 'web01', { tags: [] });
    expect(r.grantsRevoked).toBe(1);
    expect(closed).toEqual(['policy-narrowed']);
    expect(await audit('grant.revoked')).toEqual([expect.objectContaining({ grant: grant.id, cause: 'policy-narrowed' })]);
  });

  it('a credential bound to the old settings stays unusable after a database edit until it is entered again', async () => {
    const grant = await t.app.grants.adminGrant(t.admin, 'ops', 'web01', 60 * MIN, 'work', null);
    const tgt = await t.app.targets.get('web01');
    await t.app.store.targets.update({ ...tgt, host: '10.6.6.6' });
    expect(() => t.app.creds.checkout(grant, { ...tgt, host: '10.6.6.6' })).toThrow(CredentialUnbound);
    // The admin checks the target, puts the host back and enters the credential again.
    const r = await t.app.targets.update('admin', 'web01', { host: '127.0.0.1', password: NEW_SECRET });
    const c = t.app.creds.checkout(grant, r.target);
    expect(c.secret.toString()).toBe(NEW_SECRET);
    c.wipe();
  });
});
