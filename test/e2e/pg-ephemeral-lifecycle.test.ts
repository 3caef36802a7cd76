// Issue 15 end to end on PostgreSQL 15, the parts that outlive one session: a `kill -9` of the gateway
// with a live grant and session, the grant ending while it is down, and the role dropped within
// seconds of the restart; a grant extension moving the role's VALID UNTIL so logins keep working past
// the original end; rotation of static targets (`target rotate` now, and `--rotate after-session`)
// making the old password fail a direct login while sessions through the gateway keep working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn } from '../harness/cli-in-process.js';
import { waitFor } from '../harness/common.js';
import { type CliResult, json } from '../harness/gateway.js';
import { type PgEphemeral, startPgEphemeral } from '../harness/pg-ephemeral.js';
import { tlsCaArgs } from '../harness/test-ca.js';
import type { PipedClient } from '../harness/piped-client.js';

let fx: PgEphemeral;
const clients: PipedClient[] = [];

beforeAll(async () => { fx = await startPgEphemeral(); }, 60_000);
afterAll(async () => {
  for (const c of clients) c.kill();
  await fx?.stop();
});

interface EphemeralRow { account: string; state: string; grant: string }
interface GrantRow { id: string; expires_at: string }

// The admin CLI in process (test/harness/cli-in-process.ts): the same code without ~1.2 s of Node
// start-up a call, so the grants below can be short and still outlast the steps before their end.
const admin = (args: string[]): Promise<CliResult> => adminIn(fx.gw, args);
const grantIn = async (user: string, level: string, duration: string): Promise<string> =>
  json<{ id: string }>(await admin(['grant', 'add', '--user', user, '--target', 'db', '--level', level, '--for', duration, '--reason', 'e2e', '--json'])).id;
const ephemeral = async (): Promise<EphemeralRow[]> => json<EphemeralRow[]>(await admin(['ephemeral', 'list', '--json']));
const accountOf = async (grant: string): Promise<string | undefined> => (await ephemeral()).find((r) => r.grant === grant)?.account;

function addStatic(name: string, role: string, password: string, rotate: string): void {
  fx.pg.sql(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' IN ROLE pc_read`);
  fx.must(fx.gw.admin(['target', 'add', name, '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(fx.pg.port), '--account', role,
    '--database', 'orders', '--tls', 'verify-full', ...tlsCaArgs(), '--rotate', rotate, '--password-stdin'], `${password}\n`));
}

describe('ephemeral PostgreSQL accounts across a crash, an extension, and static rotation', () => {
  it('drops the role of a grant that ended while the gateway was down, within seconds of the restart', async () => {
    const grant = await grantIn('alice', 'read', '10s');
    const c = fx.open('alice+db');
    clients.push(c);
    c.type('select current_user;');
    await c.waitFor(/^pcx_[a-z2-7]{12}$/m);
    const role = (await accountOf(grant))!;
    expect(c.output).toContain(role);
    const ends = Date.parse(json<GrantRow[]>(await admin(['grant', 'list', '--json'])).find((g) => g.id === grant)!.expires_at);
    expect(Date.now(), 'the grant ended before the crash: the test proves nothing').toBeLessThan(ends - 1000);
    await fx.gw.crash();
    // The grant ends while no gateway runs; the role is still on the server.
    await waitFor('the grant to end', () => Date.now() > ends + 500, 20_000);
    expect(fx.pcxRoles()).toContain(role);
    const t0 = Date.now();
    await fx.gw.restart();
    await waitFor(`${role} dropped after the restart`, () => !fx.pcxRoles().includes(role), 15_000);
    expect(Date.now() - t0).toBeLessThan(15_000);
    await waitFor('ephemeral list to show it dropped', async () => (await ephemeral()).some((r) => r.account === role && r.state === 'dropped'), 10_000);
  }, 60_000);

  it('keeps logins of an extended grant working past its original end (VALID UNTIL follows)', async () => {
    const grant = await grantIn('bob', 'read', '8s');
    const first = fx.psql('bob+db', 'select current_user');
    expect(first.stderr).toBe('');
    const role = first.stdout.trim();
    const before = fx.pg.sql(`SELECT extract(epoch FROM rolvaliduntil) FROM pg_roles WHERE rolname = '${role}'`).trim();
    fx.must(await admin(['grant', 'extend', grant, '--by', '2m']));
    expect(Date.now(), 'the extension came after the original end: the test proves nothing').toBeLessThan(Number(before) * 1000);
    await waitFor('VALID UNTIL moved', () => fx.pg.sql(`SELECT extract(epoch FROM rolvaliduntil) FROM pg_roles WHERE rolname = '${role}'`).trim() !== before, 10_000);
    await waitFor('the original end to pass', () => Date.now() > Number(before) * 1000 + 1000, 20_000);
    const later = fx.psql('bob+db', 'select current_user');
    expect(later.stderr).toBe('');
    expect(later.stdout.trim()).toBe(role);
    fx.must(await admin(['grant', 'revoke', grant]));
    await waitFor(`${role} dropped`, () => !fx.pcxRoles().includes(role), 10_000);
  }, 50_000);

  it('rotates a static target now: the old password fails a direct login, sessions through the gateway still work', () => {
    addStatic('static', 'app_static', 'Static-Old-Password-1', 'off');
    fx.grant('alice', 'default', '10m', 'static');
    expect(fx.direct('app_static', 'Static-Old-Password-1', 'select 1').stdout.trim()).toBe('1');
    fx.must(fx.gw.admin(['target', 'rotate', 'static']));
    const old = fx.direct('app_static', 'Static-Old-Password-1', 'select 1');
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/password authentication failed/);
    const r = fx.psql('alice+static', 'select current_user');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('app_static');
  }, 30_000);

  it('rotates an after-session target once a session ended, and the next session works', async () => {
    addStatic('static2', 'app_after', 'After-Old-Password-1', 'after-session');
    fx.grant('bob', 'default', '10m', 'static2');
    const r = fx.psql('bob+static2', 'select current_user');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('app_after');
    await waitFor('the old password to stop working', () => fx.direct('app_after', 'After-Old-Password-1', 'select 1').status !== 0, 30_000);
    expect(fx.direct('app_after', 'After-Old-Password-1', 'select 1').stderr).toMatch(/password authentication failed/);
    const next = fx.psql('bob+static2', 'select current_user');
    expect(next.stderr).toBe('');
    expect(next.stdout.trim()).toBe('app_after');
  }, 50_000);
});
