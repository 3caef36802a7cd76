// The PostgreSQL provisioner's ephemeral accounts on a real PostgreSQL 15, logged in as a CREATEROLE
// (not superuser) provisioner with the gateway's own upstream login (verify-full TLS, SCRAM): an
// account logs in as itself with the password it was given and holds exactly its level's roles;
// two accounts cannot see or end each other's sessions; dropping ends open sessions and removes the
// role with or without what it owns; a leftover of a crash is replaced; only ephemeral names are
// touched.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAdminLogin, type PgAdminSession } from '../../gateway/postgres/provisioner.js';
import { type CreatedAccount, ephemeralAccountName, ProvisionError } from '../../gateway/provision/provisioner.js';
import { LEVELS, PROVISIONER, PROVISIONER_PASSWORD, pgCredential, pgDirect, pgTargetRecord, setUpPgLevels } from '../harness/pg-levels.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';

let peer: PostgresPeer;
let admin: PgAdminSession;
const read = LEVELS[0]!;
const write = LEVELS[1]!;
const open: pg.Client[] = [];

async function login(over: Parameters<typeof pgTargetRecord>[1] = {}): Promise<PgAdminSession> {
  return (await pgAdminLogin()(pgTargetRecord(peer, over), pgCredential(PROVISIONER, PROVISIONER_PASSWORD))) as PgAdminSession;
}

async function direct(account: string, created: CreatedAccount): Promise<pg.Client> {
  const c = await pgDirect(peer, account, created.secret.toString('utf8'));
  open.push(c);
  return c;
}

const spec = (level = read, account = ephemeralAccountName()): Parameters<PgAdminSession['createAccount']>[0] =>
  ({ account, level, validUntil: Date.now() + 3600_000, grantId: 'grt_test' });
const roleExists = (name: string): boolean => peer.sql(`SELECT count(*) FROM pg_roles WHERE rolname = '${name}'`).trim() === '1';

beforeAll(async () => {
  peer = await startPostgres();
  setUpPgLevels(peer);
  admin = await login();
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => {})));
  await admin?.close();
  await peer?.stop();
});

describe('PostgreSQL provisioner: ephemeral accounts', () => {
  it('creates an account that logs in as itself with the password it was given, valid until the grant ends, with a comment and a connection limit', async () => {
    const s = spec();
    const created = await admin.createAccount(s);
    expect(created.kind).toBe('password');
    expect(created.secret.toString('utf8')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const c = await direct(s.account, created);
    const r = await c.query('SELECT current_user AS u, session_user AS s');
    expect(r.rows[0]).toEqual({ u: s.account, s: s.account });
    const attrs = peer.sql(`SELECT rolsuper, rolcreaterole, rolcreatedb, rolinherit, rolconnlimit, rolvaliduntil IS NOT NULL, shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '${s.account}'`).trim();
    expect(attrs).toBe('f|f|f|t|10|t|portcullis ephemeral account for grant grt_test');
    // Only a verifier ever reached the server.
    expect(peer.sql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${s.account}'`).trim()).toMatch(/^SCRAM-SHA-256\$4096:/);
    await c.end();
  });

  it('gives a read-level account SELECT but not INSERT, and a write-level account both', async () => {
    const r = spec(read);
    const rc = await direct(r.account, await admin.createAccount(r));
    expect((await rc.query('SELECT name FROM items')).rows).toEqual([{ name: 'first' }]);
    await expect(rc.query("INSERT INTO items (name) VALUES ('nope')")).rejects.toThrow(/permission denied for table items/);
    const w = spec(write);
    const wc = await direct(w.account, await admin.createAccount(w));
    await wc.query("INSERT INTO items (name) VALUES ('written')");
    expect((await wc.query("SELECT count(*)::int AS n FROM items WHERE name = 'written'")).rows).toEqual([{ n: 1 }]);
    // Membership is exactly the level's roles (the provisioner is a member of the account, not the other way).
    const roles = peer.sql(`SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = '${w.account}'`).trim();
    expect(roles).toBe('pc_read,pc_write');
  });

  it('keeps two accounts apart: neither sees the other\'s statement in pg_stat_activity nor can end its backend', async () => {
    const a = spec(write);
    const b = spec(write);
    const ac = await direct(a.account, await admin.createAccount(a));
    const bc = await direct(b.account, await admin.createAccount(b));
    const busy = ac.query("SELECT pg_sleep(3), 'secret-statement-of-a'").catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    const seen = await bc.query<{ pid: number; query: string }>(`SELECT pid, query FROM pg_stat_activity WHERE usename = '${a.account}'`);
    expect(seen.rows.length).toBe(1);
    expect(seen.rows[0]!.query).toBe('<insufficient privilege>');
    await expect(bc.query(`SELECT pg_terminate_backend(${Number(seen.rows[0]!.pid)})`)).rejects.toThrow(/must be a member of the role whose process is being terminated/);
    expect(await busy).not.toBeNull();
  });

  it('drops an account with an open session: the session is ended, the role is gone, and a second drop is a no-op', async () => {
    const s = spec(read);
    const c = await direct(s.account, await admin.createAccount(s));
    const ended = new Promise<void>((resolve) => c.once('end', () => resolve()));
    const busy = c.query('SELECT pg_sleep(30)').then(() => 'finished', (e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await admin.dropAccount(s.account, { reassignTo: null, keepHome: false });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await busy).toMatch(/terminat/);
    await ended;
    expect(roleExists(s.account)).toBe(false);
    await admin.dropAccount(s.account, { reassignTo: null, keepHome: false });
  });

  it('drops what an account owns with it, or reassigns it to the target\'s role', async () => {
    peer.sql('CREATE ROLE pc_owner NOLOGIN; GRANT pc_owner TO portcullis_prov');
    const d = spec(write);
    const dc = await direct(d.account, await admin.createAccount(d));
    await dc.query('CREATE TABLE scratch_dropped (x int)');
    const r = spec(write);
    const rc = await direct(r.account, await admin.createAccount(r));
    await rc.query('CREATE TABLE scratch_kept (x int)');
    await admin.dropAccount(d.account, { reassignTo: null, keepHome: false });
    await admin.dropAccount(r.account, { reassignTo: 'pc_owner', keepHome: false });
    expect(peer.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'scratch_dropped'", 'orders').trim()).toBe('0');
    expect(peer.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'scratch_kept'", 'orders').trim()).toBe('pc_owner');
    expect(roleExists(d.account) || roleExists(r.account)).toBe(false);
  });

  it('reports an account that owns objects in another database as not droppable, naming the database', async () => {
    peer.sql('CREATE DATABASE elsewhere');
    peer.sql('GRANT CREATE ON SCHEMA public TO pc_write', 'elsewhere');
    const s = spec(write);
    const created = await admin.createAccount(s);
    const c = await pgDirect(peer, s.account, created.secret.toString('utf8'), 'elsewhere');
    await c.query('CREATE TABLE stray (x int)');
    await c.end();
    const err = await admin.dropAccount(s.account, { reassignTo: null, keepHome: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).kind).toBe('refused');
    expect((err as ProvisionError).message).toMatch(/owns objects.*database elsewhere/);
    // It can no longer log in, and once the stray object is gone the next drop succeeds.
    expect(peer.sql(`SELECT rolcanlogin FROM pg_roles WHERE rolname = '${s.account}'`).trim()).toBe('f');
    peer.sql('DROP TABLE stray', 'elsewhere');
    await admin.dropAccount(s.account, { reassignTo: null, keepHome: false });
    expect(roleExists(s.account)).toBe(false);
  });

  it('replaces an account left behind by a crash (created without the provisioner as member) and the old password stops working', async () => {
    const s = spec(read);
    peer.sql(`CREATE ROLE ${s.account} LOGIN PASSWORD 'left-behind-1' IN ROLE pc_write`);
    const stale = await pgDirect(peer, s.account, 'left-behind-1');
    const created = await admin.createAccount(s);
    await expect(stale.query('SELECT 1')).rejects.toThrow();
    await expect(pgDirect(peer, s.account, 'left-behind-1')).rejects.toThrow(/password authentication failed/);
    const c = await direct(s.account, created);
    await expect(c.query("INSERT INTO items (name) VALUES ('x')")).rejects.toThrow(/permission denied/);
  });

  it('extends an account past its end (VALID UNTIL follows the grant), refuses a bad end, and takes a missing account as nothing to do', async () => {
    // Created with an end already past: PostgreSQL refuses its password, as after a grant's original end.
    const s = { ...spec(read), validUntil: Date.now() - 60_000 };
    const created = await admin.createAccount(s);
    await expect(pgDirect(peer, s.account, created.secret.toString('utf8'))).rejects.toThrow(/password authentication failed/);
    const until = Date.now() + 7200_000;
    await admin.extendAccount(s.account, until);
    expect(Number(peer.sql(`SELECT extract(epoch FROM rolvaliduntil) FROM pg_roles WHERE rolname = '${s.account}'`).trim())).toBeCloseTo(until / 1000, 0);
    const c = await direct(s.account, created);
    expect((await c.query('SELECT current_user AS u')).rows[0]).toEqual({ u: s.account });
    await expect(admin.extendAccount(s.account, Number.NaN)).rejects.toThrow(/needs an end between 1970 and 9999/);
    await expect(admin.extendAccount('pcx_aaaaaaaaaaaa"; DROP ROLE postgres; --', until)).rejects.toThrow(/is not an ephemeral account name/);
    await expect(admin.extendAccount(ephemeralAccountName(), until)).resolves.toBeUndefined();
  });

  it('refuses to create or drop anything but an ephemeral account name', async () => {
    for (const bad of ['postgres', PROVISIONER, 'pcx_AAAAAAAAAAAA', 'pcx_aaaaaaaaaaaa"; DROP ROLE postgres; --']) {
      await expect(admin.dropAccount(bad, { reassignTo: null, keepHome: false })).rejects.toThrow(/is not an ephemeral account name/);
      await expect(admin.createAccount(spec(read, bad))).rejects.toThrow(/is not an ephemeral account name/);
    }
    expect(roleExists('postgres') && roleExists(PROVISIONER)).toBe(true);
  });

  it('refuses an end PostgreSQL cannot take (not a number, past year 9999), and creates nothing', async () => {
    for (const validUntil of [Number.NaN, Infinity, 1e20]) {
      const s = { ...spec(read), validUntil };
      await expect(admin.createAccount(s)).rejects.toThrow(/needs an end between 1970 and 9999/);
      expect(roleExists(s.account)).toBe(false);
    }
  });

  it('names a level role that does not exist, and creates nothing', async () => {
    const s = spec({ name: 'admin', grants: ['pc_read', 'pc_nope'] });
    const err = await admin.createAccount(s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).kind).toBe('no-such-level-grant');
    expect((err as ProvisionError).message).toMatch(/role "pc_nope" does not exist/);
    expect((err as ProvisionError).message).not.toMatch(/SCRAM/);
    expect(roleExists(s.account)).toBe(false);
  });
});
