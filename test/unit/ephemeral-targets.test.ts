// Ephemeral accounts and target administration: removal drops a target's accounts first (refused
// when one cannot be dropped, unless forced, which abandons them, audited and alerted); an update
// that would move the provisioner is refused while accounts live; `target test` checks the
// provisioner's rights; the listing shows state and failures. And no secret, the provisioner's or
// an account's, ever reaches the audit trail, the logs or the listing.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessEvents } from '../../gateway/access/events.js';
import { checkTarget } from '../../gateway/targets/target-check.js';
import { type EphemeralFixture, ephemeralFixture, eventually } from '../support/ephemeral-fixture.js';

let f: EphemeralFixture;
let server: Server | null = null;
afterEach(async () => {
  await f.close();
  if (server) await new Promise((r) => server!.close(r));
  server = null;
});

const auditOf = async (code: string): Promise<Array<Record<string, unknown>>> =>
  (await f.t.app.audit.page(0, 10_000)).filter((e) => e.code === code).map((e) => e.data as Record<string, unknown>);

describe('ephemeral accounts and target administration', () => {
  it('removing a target drops its live accounts first', async () => {
    f = await ephemeralFixture();
    const a = (await f.t.app.ephemeral.credentials.issue(await f.grant(), f.target)).account;
    const b = (await f.t.app.ephemeral.credentials.issue(await f.grant({ level: 'write' }), f.target)).account;
    await f.t.app.targets.remove('admin', 'db1');
    expect(f.fake.calls.filter((c) => c.op === 'drop').map((c) => c.account).sort()).toEqual([a, b].sort());
    expect((await auditOf('ephemeral.dropped')).map((d) => d.reason)).toEqual(['target-removed', 'target-removed']);
    expect(await f.t.app.store.targets.byName('db1')).toBeUndefined();
    expect(await f.t.app.store.ephemeral.live()).toEqual([]);
  });

  it('refuses the removal when an account cannot be dropped, naming it; --force removes and abandons it, audited and alerted', async () => {
    f = await ephemeralFixture();
    const abandoned: Array<AccessEvents['ephemeral.abandoned']> = [];
    f.t.app.events.on('ephemeral.abandoned', (e) => abandoned.push(e));
    const g = await f.grant();
    const a = (await f.t.app.ephemeral.credentials.issue(g, f.target)).account;
    f.fake.down = true;
    const err = await f.t.app.targets.remove('admin', 'db1').catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`cannot remove db1: its ephemeral accounts could not be dropped: ${a} (connect ECONNREFUSED 127.0.0.1:5432)`);
    expect((err as Error).message).toContain('portcullis target remove db1 --force');
    expect(await f.t.app.store.targets.byName('db1')).toBeDefined();
    // Refused: the target works as before for its grant.
    f.fake.down = false;
    expect((await f.t.app.ephemeral.credentials.issue(await f.grant(), f.target)).account).toMatch(/^pcx_/);
    f.fake.down = true;
    await f.t.app.targets.remove('admin', 'db1', { force: true });
    expect(await f.t.app.store.targets.byName('db1')).toBeUndefined();
    const abandonedAccounts = (await auditOf('ephemeral.abandoned')).map((d) => d.account);
    expect(abandonedAccounts).toContain(a);
    expect(abandoned.map((e) => e.account)).toEqual(abandonedAccounts);
    expect(abandoned[0]).toMatchObject({ target: 'db1', by: 'admin' });
    expect(await f.t.app.store.ephemeral.live()).toEqual([]);
    const listed = await f.t.app.ephemeral.list();
    expect(listed.find((v) => v.account === a)).toMatchObject({ state: 'abandoned', target: f.target.id, dropped_at: null });
  });

  it('refuses to move the provisioner of a target while its accounts live', async () => {
    f = await ephemeralFixture();
    const g = await f.grant();
    const a = (await f.t.app.ephemeral.credentials.issue(g, f.target)).account;
    const err = await f.t.app.targets.update('admin', 'db1', { host: '127.0.0.2', password: 'provisioner-secret-1' }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toContain(`cannot change host of db1 while it has live ephemeral accounts (${a})`);
    // Tags do not move it.
    await f.t.app.targets.update('admin', 'db1', { tags: ['prod'] });
    await f.t.app.grants.revoke(f.t.admin, g.id, 'done');
    await eventually(async () => (await f.t.app.store.ephemeral.live()).length === 0);
    expect((await f.t.app.targets.update('admin', 'db1', { host: '127.0.0.2', password: 'provisioner-secret-1' })).changed).toEqual(['host']);
  });

  it('target test checks the provisioner after the login and names what it lacks', async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    f = await ephemeralFixture({ port: (server.address() as { port: number }).port });
    const target = await f.t.app.targets.get('db1');
    const probe = (): Promise<{ ok: boolean; detail: string }> => Promise.resolve({ ok: true, detail: 'logged in as provisioner' });
    const check = (x: typeof target): Promise<string[]> => f.t.app.ephemeral.checkProvisioner(x);
    f.fake.missing = ['CREATEROLE', 'role pc_write does not exist'];
    expect(await checkTarget(target, f.t.app.creds, probe, check)).toEqual({
      ok: false, reachable: true, login: 'ok', detail: 'logged in as provisioner; the provisioner lacks: CREATEROLE; role pc_write does not exist',
      provisioner: { ok: false, missing: ['CREATEROLE', 'role pc_write does not exist'] },
    });
    f.fake.missing = [];
    expect(await checkTarget(target, f.t.app.creds, probe, check)).toMatchObject({ ok: true, provisioner: { ok: true, missing: [] } });
    f.fake.down = true;
    expect((await checkTarget(target, f.t.app.creds, probe, check)).detail).toContain('the provisioner lacks: the provisioner check failed: connect ECONNREFUSED');
    // A static target is not asked.
    const before = f.fake.count('check');
    // The mode is bound to the credential: changing it goes through the service with the credential.
    const asStatic = (await f.t.app.targets.update('admin', 'db1', {
      credentialMode: 'static', levels: [{ name: 'read', grants: [] }, { name: 'write', grants: [] }], ephemeralReassignTo: null, password: 'provisioner-secret-1',
    })).target;
    expect((await checkTarget(asStatic, f.t.app.creds, probe, check)).ok).toBe(true);
    expect(f.fake.count('check')).toBe(before);
  });

  it('never puts an account\'s secret or the provisioner\'s in the audit trail, the logs or the listing', async () => {
    f = await ephemeralFixture();
    const g = await f.grant();
    await f.t.app.ephemeral.credentials.issue(g, f.target);
    await f.t.app.ephemeral.credentials.issue(g, f.target);
    const g2 = await f.grant({ level: 'write' });
    await f.t.app.ephemeral.credentials.issue(g2, f.target);
    f.fake.down = true;
    await f.t.app.grants.revoke(f.t.admin, g.id, 'done');
    await eventually(async () => (await auditOf('ephemeral.drop_failed')).length === 1);
    f.fake.down = false;
    await f.t.app.grants.revoke(f.t.admin, g2.id, 'done');
    await eventually(async () => (await auditOf('ephemeral.dropped')).length === 1);
    const secrets = [...f.fake.secrets, 'provisioner-secret-1'];
    expect(f.fake.secrets).toHaveLength(2);
    const audit = JSON.stringify(await f.t.app.audit.page(0, 10_000));
    const logs = f.logs.join('');
    const listing = JSON.stringify(await f.t.app.ephemeral.list());
    expect(logs).toContain('ephemeral.created');
    for (const s of secrets) {
      expect(audit).not.toContain(s);
      expect(logs).not.toContain(s);
      expect(listing).not.toContain(s);
    }
    expect(Object.keys((JSON.parse(listing) as object[])[0]!).sort()).toEqual([
      'account', 'created_at', 'drop_attempts', 'dropped_at', 'expires_at', 'grant', 'id', 'last_error', 'level', 'state', 'target', 'user',
    ]);
  });
});
