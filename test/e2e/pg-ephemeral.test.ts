// Issue 15 end to end on PostgreSQL 15, through the built gateway with real psql: an ephemeral target
// (levels read and write) passes `target test` and a provisioner without CREATEROLE fails it naming
// the right; each grant's session runs as its own pcx_ role (read cannot write, write can); two users
// cannot see or end each other's backends; a revoke cuts the session and drops the role within
// seconds (ephemeral list, audit); discovery tells a superuser made behind the gateway's back from
// the managed accounts; and the ephemeral password is never anywhere but the server's SCRAM verifier.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn } from '../harness/cli-in-process.js';
import { waitFor } from '../harness/common.js';
import { type CliResult, json } from '../harness/gateway.js';
import { PROVISIONER } from '../harness/pg-levels.js';
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

interface EphemeralRow { account: string; user: string; level: string; state: string; grant: string }
interface AuditRow { code: string; data: Record<string, unknown> }
interface DiscoverRow { account: string; privileges: string[]; managed: boolean; managed_as: string | null }

// The admin CLI in process (test/harness/cli-in-process.ts): the same code without ~1.2 s of Node
// start-up a call.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);
const grantIn = async (user: string, level: string): Promise<string> =>
  json<{ id: string }>(await admin(['grant', 'add', '--user', user, '--target', 'db', '--level', level, '--for', '10m', '--reason', 'e2e', '--json'])).id;
const ephemeral = async (): Promise<EphemeralRow[]> => json<EphemeralRow[]>(await admin(['ephemeral', 'list', '--json']));
const accountOf = async (grant: string): Promise<string | undefined> => (await ephemeral()).find((r) => r.grant === grant && r.state === 'active')?.account;
/**
 * Backend pid of a role's session running the statement marked `marker`, as the superuser sees it
 * (the marker, because the role's backends of an earlier psql may still be exiting).
 */
const pidOf = (role: string, marker: string): string =>
  fx.pg.sql(`SELECT pid FROM pg_stat_activity WHERE usename = '${role}' AND query LIKE '%${marker}%' ORDER BY backend_start LIMIT 1`).trim();

describe('ephemeral PostgreSQL accounts through the gateway', () => {
  it('tests the provisioner: the good one passes, one without CREATEROLE fails naming it', async () => {
    const ok = await admin(['target', 'test', 'db']);
    expect(ok.code, ok.stderr).toBe(0);
    fx.pg.sql("CREATE ROLE weak_prov LOGIN PASSWORD 'Weak-Prov-Password-1'");
    const add = await admin(['target', 'add', 'weakdb', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(fx.pg.port), '--account', 'weak_prov',
      '--database', 'orders', '--tls', 'verify-full', ...tlsCaArgs(), '--credential', 'ephemeral', '--level', 'read=pc_read', '--password-stdin'], 'Weak-Prov-Password-1\n');
    expect(add.code, add.stderr).toBe(0);
    const bad = await admin(['target', 'test', 'weakdb']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/CREATEROLE/);
    expect(bad.stdout + bad.stderr).not.toContain('Weak-Prov-Password-1');
    fx.must(await admin(['target', 'remove', 'weakdb']));
  }, 30_000);

  it('runs a read session as its own pcx_ role that cannot write, and a write session that can', async () => {
    const a = await grantIn('alice', 'read');
    const b = await grantIn('bob', 'write');
    const who = fx.psql('alice+db', 'select current_user');
    expect(who.stderr).toBe('');
    const role = who.stdout.trim();
    expect(role).toMatch(/^pcx_[a-z2-7]{12}$/);
    expect(role).not.toBe(PROVISIONER);
    expect(await accountOf(a)).toBe(role);
    const ins = fx.psql('alice+db', "insert into items (name) values ('by-alice')");
    expect(ins.status).not.toBe(0);
    expect(ins.stderr).toMatch(/permission denied for table items/);
    expect(fx.psql('alice+db', 'select count(*) from items').stdout.trim()).toBe('1');
    const w = fx.psql('bob+db+write', "insert into items (name) values ('by-bob') returning current_user");
    expect(w.stderr).toBe('');
    expect(w.stdout.trim().split('\n')[0]).toBe(await accountOf(b));
    expect(w.stdout).not.toContain(role);
  }, 40_000);

  it('keeps alice and bob apart: neither sees the other\'s query text nor can end the other\'s backend', async () => {
    const roles = { alice: (await accountOf((await ephemeral()).find((r) => r.user === 'alice' && r.state === 'active')!.grant))!, bob: (await accountOf((await ephemeral()).find((r) => r.user === 'bob' && r.state === 'active')!.grant))! };
    for (const [me, other] of [['alice', 'bob'], ['bob', 'alice']] as const) {
      const c = fx.open(`${other}+db`);
      clients.push(c);
      c.type(`select pg_sleep(30) /* marker-of-${other} */;`);
      await waitFor(`${other}'s statement running`, () => fx.pg.sql(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%marker-of-${other}%' AND usename = '${roles[other]}'`).trim() === '1', 15_000);
      const pid = pidOf(roles[other], `marker-of-${other}`);
      const seen = fx.psql(`${me}+db`, `select usename, query from pg_stat_activity where pid = ${pid}`);
      expect(seen.stderr).toBe('');
      expect(seen.stdout).toContain('<insufficient privilege>');
      expect(seen.stdout).not.toContain(`marker-of-${other}`);
      const kill = fx.psql(`${me}+db`, `select pg_terminate_backend(${pid})`);
      expect(kill.status).not.toBe(0);
      expect(kill.stderr).toMatch(/must be a member of the role whose process is being terminated/);
      expect(pidOf(roles[other], `marker-of-${other}`)).toBe(pid);
      c.kill();
      await c.exited;
    }
  }, 45_000);

  it('cuts alice\'s session at revoke and drops her role within seconds (ephemeral list, audit)', async () => {
    const grant = (await ephemeral()).find((r) => r.user === 'alice' && r.state === 'active')!.grant;
    const role = (await accountOf(grant))!;
    const c = fx.open('alice+db');
    clients.push(c);
    c.type('select 41 + 1;');
    await c.waitFor(/^42$/m);
    const t0 = Date.now();
    fx.must(await admin(['grant', 'revoke', grant]));
    await waitFor(`${role} gone from pg_roles`, () => !fx.pcxRoles().includes(role), 10_000);
    // psql reading a pipe notices the lost connection at its next statement, and exits.
    c.type('select 2;');
    expect(await c.exited).not.toBe(0);
    expect(c.output).toMatch(/terminat|connection to server was lost|server closed the connection/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await waitFor('ephemeral list to show it dropped', async () => (await ephemeral()).some((r) => r.account === role && r.state === 'dropped'), 10_000);
    const audit = json<AuditRow[]>(await admin(['audit', 'list', '--json'])).filter((e) => e.data.account === role);
    expect(audit.map((e) => e.code)).toEqual(expect.arrayContaining(['ephemeral.created', 'ephemeral.dropped']));
    expect(audit.find((e) => e.code === 'ephemeral.created')?.data).toMatchObject({ target: 'db', grant, level: 'read' });
    // The next session of the same user without a grant is refused, not given an account.
    expect(fx.psql('alice+db', 'select 1').status).not.toBe(0);
  }, 40_000);

  it('discovers a superuser made behind the gateway\'s back as unmanaged, the provisioner and a live account as managed', async () => {
    fx.pg.sql("CREATE ROLE sneaky SUPERUSER LOGIN PASSWORD 'Sneaky-Password-1'");
    const live = (await accountOf((await ephemeral()).find((r) => r.user === 'bob' && r.state === 'active')!.grant))!;
    const rows = json<DiscoverRow[]>(await admin(['discover', 'db', '--json']));
    const row = (a: string): DiscoverRow | undefined => rows.find((r) => r.account === a);
    expect(row('sneaky')).toMatchObject({ managed: false });
    expect(row('sneaky')?.privileges).toContain('superuser');
    expect(row(PROVISIONER)).toMatchObject({ managed: true });
    expect(row(live)).toMatchObject({ managed: true });
    expect(rows.filter((r) => r.managed === false).map((r) => r.account)).toEqual(expect.arrayContaining(['postgres', 'sneaky']));
  }, 30_000);

  it('never shows the ephemeral password: the server holds a SCRAM verifier, and no log line, listing or API answer carries one', async () => {
    for (const role of fx.pcxRoles()) expect(fx.pg.sql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${role}'`).trim()).toMatch(/^SCRAM-SHA-256\$4096:/);
    const log = readFileSync(fx.logFile, 'utf8');
    expect(log.length).toBeGreaterThan(0);
    for (const text of [log, (await admin(['ephemeral', 'list', '--json'])).stdout, (await admin(['audit', 'list', '--json'])).stdout,
      (await admin(['session', 'list', '--json'])).stdout, (await admin(['target', 'list', '--json'])).stdout]) {
      expect(text).not.toContain("PASSWORD '");
      expect(text).not.toContain('SCRAM-SHA-256$');
      expect(text).not.toContain('Prov-Vaulted-Canary-77');
    }
  });
});
