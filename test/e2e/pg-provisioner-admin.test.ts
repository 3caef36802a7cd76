// The PostgreSQL provisioner's checks, discovery and own-password change on a real PostgreSQL 15:
// checkProvisioner names what the vaulted account lacks (CREATEROLE, INHERIT, a level role, a role
// to reassign to) in words an admin acts on; discovery lists the privileged roles, a superuser made
// behind the gateway's back among them; setOwnSecret makes the old password fail a direct login and
// the new one work; role names chosen to inject SQL stay names; the login wipes the credential and
// says why it failed without a secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAdminLogin, type PgAdminSession } from '../../gateway/postgres/provisioner.js';
import { ephemeralAccountName, ProvisionError } from '../../gateway/provision/provisioner.js';
import { LEVELS, PROVISIONER, PROVISIONER_PASSWORD, pgCredential, pgDirect, pgTargetRecord, setUpPgLevels } from '../harness/pg-levels.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';

let peer: PostgresPeer;
const sessions: PgAdminSession[] = [];
const EVIL = 'x"; DROP ROLE postgres; --';
const EVIL_LITERAL = "pc_o'; DROP ROLE postgres; --\\";

async function login(account = PROVISIONER, password = PROVISIONER_PASSWORD, over: Parameters<typeof pgTargetRecord>[1] = {}): Promise<PgAdminSession> {
  const s = (await pgAdminLogin()(pgTargetRecord(peer, over), pgCredential(account, password))) as PgAdminSession;
  sessions.push(s);
  return s;
}
const roleExists = (name: string): boolean => peer.sql(`SELECT count(*) FROM pg_roles WHERE rolname = '${name.replaceAll("'", "''")}'`).trim() === '1';

beforeAll(async () => {
  peer = await startPostgres();
  setUpPgLevels(peer);
  peer.sql([
    "CREATE ROLE plain LOGIN PASSWORD 'plain-Password-1'", "CREATE ROLE noinherit LOGIN CREATEROLE NOINHERIT PASSWORD 'noinherit-Password-1'",
    "CREATE ROLE static_app LOGIN PASSWORD 'Old-Static-Password-1'", 'CREATE ROLE pc_super SUPERUSER NOLOGIN', 'CREATE ROLE pc_owner NOLOGIN',
    'GRANT CONNECT ON DATABASE orders TO PUBLIC',
  ].join('; '));
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await peer?.stop();
});

describe('PostgreSQL provisioner: check, discovery, own password', () => {
  it('finds nothing missing for a CREATEROLE provisioner and existing level roles', async () => {
    expect(await (await login()).checkProvisioner(LEVELS)).toEqual([]);
  });

  it('names CREATEROLE, a missing level role and a superuser level role for a plain login role', async () => {
    const problems = await (await login('plain', 'plain-Password-1')).checkProvisioner([...LEVELS, { name: 'admin', grants: ['pc_write', 'pc_nope', 'pc_super'] }]);
    expect(problems).toEqual([
      'CREATEROLE: the provisioner "plain" cannot create or drop roles (as a superuser: ALTER ROLE "plain" CREATEROLE)',
      'role pc_nope does not exist (level admin)',
      'level role pc_super is a superuser role (level admin): a level must not hand out superuser',
    ]);
  });

  it('refuses to create an account as a provisioner without CREATEROLE, saying a right is missing', async () => {
    const s = ephemeralAccountName();
    const err = await (await login('plain', 'plain-Password-1')).createAccount({ account: s, level: LEVELS[0]!, validUntil: Date.now() + 60_000, grantId: 'grt_x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).kind).toBe('missing-right');
    expect((err as ProvisionError).message).toMatch(/permission denied to create role/);
    expect(roleExists(s)).toBe(false);
  });

  it('names a level role that hands out superuser or as good: CREATEROLE, or membership in such a role (a member may SET ROLE)', async () => {
    peer.sql('CREATE ROLE pc_backdoor NOLOGIN IN ROLE pc_super; CREATE ROLE pc_files NOLOGIN IN ROLE pg_execute_server_program; CREATE ROLE pc_roles NOLOGIN CREATEROLE');
    expect(await (await login()).checkProvisioner([...LEVELS, { name: 'ops', grants: ['pc_backdoor', 'pc_files', 'pc_roles'] }])).toEqual([
      'level role pc_backdoor is a member of pc_super (level ops): a level must not hand out superuser or what is as good',
      'level role pc_files is a member of pg_execute_server_program (level ops): a level must not hand out superuser or what is as good',
      'level role pc_roles has CREATEROLE (level ops): in PostgreSQL 15 that grants any role but superuser, so a level must not hand it out',
    ]);
  });

  it('names INHERIT for a NOINHERIT provisioner, which PostgreSQL 15 would not let end the sessions of its accounts', async () => {
    expect(await (await login('noinherit', 'noinherit-Password-1')).checkProvisioner(LEVELS)).toEqual([
      'INHERIT: the provisioner "noinherit" cannot end the sessions of the accounts it creates (ALTER ROLE "noinherit" INHERIT)',
    ]);
  });

  it('names a reassign-to role that does not exist or that the provisioner is not a member of', async () => {
    expect(await (await login(PROVISIONER, PROVISIONER_PASSWORD, { ephemeralReassignTo: 'pc_gone' })).checkProvisioner(LEVELS))
      .toEqual(['role pc_gone does not exist (objects of dropped accounts are reassigned to it)']);
    expect(await (await login(PROVISIONER, PROVISIONER_PASSWORD, { ephemeralReassignTo: 'pc_owner' })).checkProvisioner(LEVELS))
      .toEqual([`the provisioner "${PROVISIONER}" must be a member of pc_owner to reassign objects of dropped accounts to it (GRANT "pc_owner" TO "${PROVISIONER}")`]);
  });

  it('accepts a superuser provisioner as it is', async () => {
    expect(await (await login('postgres', peer.password)).checkProvisioner(LEVELS)).toEqual([]);
  });

  it('discovers a superuser created behind the gateway\'s back, with the privileged roles and without built-in pg_ roles', async () => {
    peer.sql("CREATE ROLE sneaky LOGIN SUPERUSER PASSWORD 'sneaky-Password-1'; CREATE ROLE replicator REPLICATION NOLOGIN; CREATE ROLE rls_free BYPASSRLS NOLOGIN; CREATE ROLE dbmaker CREATEDB NOLOGIN; CREATE ROLE backdoor LOGIN IN ROLE sneaky");
    const found = await (await login()).discover();
    const by = new Map(found.map((a) => [a.account, a.privileges]));
    expect(by.get('sneaky')).toEqual(['superuser', 'login']);
    expect(by.get('postgres')).toEqual(['superuser', 'createrole', 'createdb', 'bypassrls', 'replication', 'login']);
    expect(by.get(PROVISIONER)).toEqual(['createrole', 'login']);
    expect(by.get('replicator')).toEqual(['replication']);
    expect(by.get('rls_free')).toEqual(['bypassrls']);
    expect(by.get('dbmaker')).toEqual(['createdb']);
    expect(by.get('backdoor')).toEqual(['login', 'member-of:sneaky']);
    expect(by.has('pc_read')).toBe(false);
    expect(found.some((a) => a.account.startsWith('pg_'))).toBe(false);
    // A superuser provisioner sees which login roles have a password.
    peer.sql('CREATE ROLE nopass LOGIN');
    const asSuper = new Map((await (await login('postgres', peer.password)).discover()).map((a) => [a.account, a.privileges]));
    expect(asSuper.get('sneaky')).toEqual(['superuser', 'password-login']);
    expect(asSuper.get('static_app')).toEqual(['password-login']);
    expect(asSuper.has('nopass')).toBe(false);
  });

  it('sets its own password: the old one fails a direct login, the new one logs in directly and through the provisioner login', async () => {
    const s = await login('static_app', 'Old-Static-Password-1');
    const next = Buffer.from('New-Static-Password-2');
    await s.setOwnSecret(next);
    await expect(pgDirect(peer, 'static_app', 'Old-Static-Password-1')).rejects.toThrow(/password authentication failed/);
    const c = await pgDirect(peer, 'static_app', 'New-Static-Password-2');
    expect((await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe('static_app');
    await c.end();
    expect(peer.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'static_app'").trim()).toMatch(/^SCRAM-SHA-256\$4096:/);
    await login('static_app', 'New-Static-Password-2');
  });

  it('keeps role names chosen to inject SQL as names, in level roles and the reassign-to role', async () => {
    const admin = await login(PROVISIONER, PROVISIONER_PASSWORD, { ephemeralReassignTo: EVIL_LITERAL });
    const problems = await admin.checkProvisioner([{ name: 'evil', grants: [EVIL, EVIL_LITERAL] }]);
    expect(problems).toContain(`role ${EVIL} does not exist (level evil)`);
    expect(problems).toContain(`role ${EVIL_LITERAL} does not exist (level evil)`);
    const account = ephemeralAccountName();
    await expect(admin.createAccount({ account, level: { name: 'evil', grants: ['pc_read', EVIL] }, validUntil: Date.now() + 60_000, grantId: "g'); DROP ROLE postgres; --" }))
      .rejects.toThrow(/does not exist/);
    expect(roleExists('postgres') && !roleExists(account)).toBe(true);
    // The same names as real roles: granted and reassigned to, exactly.
    peer.sql(`CREATE ROLE "${EVIL.replaceAll('"', '""')}" NOLOGIN; CREATE ROLE "${EVIL_LITERAL}" NOLOGIN; GRANT "${EVIL_LITERAL}" TO ${PROVISIONER}`);
    peer.sql(`GRANT CREATE ON SCHEMA public TO "${EVIL.replaceAll('"', '""')}"`, 'orders');
    const created = await admin.createAccount({ account, level: { name: 'evil', grants: [EVIL] }, validUntil: Date.now() + 60_000, grantId: "g'\\); DROP ROLE postgres; --" });
    expect(peer.sql(`SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = '${account}'`).trim()).toBe(EVIL);
    expect(peer.sql(`SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '${account}'`).trim()).toBe("portcullis ephemeral account for grant g'\\); DROP ROLE postgres; --");
    const c = await pgDirect(peer, account, created.secret.toString('utf8'));
    await c.query('CREATE TABLE evil_owned (x int)');
    await c.end();
    await admin.dropAccount(account, { reassignTo: EVIL_LITERAL, keepHome: false });
    expect(peer.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'evil_owned'", 'orders').trim()).toBe(EVIL_LITERAL);
    expect(roleExists('postgres') && !roleExists(account) && roleExists(EVIL)).toBe(true);
  });

  it('refuses a level role name PostgreSQL would truncate to another name', async () => {
    const long = 'pc_' + 'r'.repeat(61);
    const admin = await login();
    await expect(admin.createAccount({ account: ephemeralAccountName(), level: { name: 'long', grants: [long] }, validUntil: Date.now() + 60_000, grantId: 'g' }))
      .rejects.toThrow(/longer than 63 bytes/);
    expect((await admin.checkProvisioner([{ name: 'long', grants: [long] }]))[0]).toMatch(/is not a valid role name \(a role name longer than 63 bytes/);
  });

  it('wipes the credential and says why a login failed, without the password', async () => {
    const wrong = pgCredential(PROVISIONER, 'Wrong-Canary-Password-9');
    const err = await pgAdminLogin()(pgTargetRecord(peer), wrong).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).kind).toBe('refused');
    expect((err as ProvisionError).message).toBe("orders-db refused the provisioner's vaulted credential");
    expect(wrong.secret.every((b) => b === 0)).toBe(true);
    const ok = pgCredential(PROVISIONER, PROVISIONER_PASSWORD);
    sessions.push((await pgAdminLogin()(pgTargetRecord(peer), ok)) as PgAdminSession);
    expect(ok.secret.every((b) => b === 0)).toBe(true);
    const down = await pgAdminLogin()(pgTargetRecord(peer, { port: 1 }), pgCredential(PROVISIONER, PROVISIONER_PASSWORD)).catch((e: unknown) => e);
    expect((down as ProvisionError).kind).toBe('unreachable');
  });
});
