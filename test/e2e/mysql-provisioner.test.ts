// The MySQL/MariaDB provisioner against a real MariaDB: ephemeral users created and dropped for a
// level, their isolation from each other, the provisioner's rights check, discovery, rotation of a
// static account's own password, and role names chosen by an attacker.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMyAdmin } from '../../gateway/mysql/provisioner.js';
import { type AdminSession, ProvisionError, ephemeralAccountName } from '../../gateway/provision/provisioner.js';
import { type MariadbPeer, startMariadb } from '../harness/mariadb.js';
import { LEVELS, PROV_PASSWORD, directSql, provCredential, provTarget, setupMyLevels } from '../harness/my-provision.js';

let db: MariadbPeer;
const open = (): Promise<AdminSession> => openMyAdmin(provTarget(db), provCredential());
const read = LEVELS[0]!;
const write = LEVELS[1]!;
const spec = (level: { name: string; grants: string[] }, account = ephemeralAccountName()) => ({ account, level, validUntil: Date.now() + 60_000, grantId: 'g-1' });
const connectAs = (user: string, password: string) => mysql.createConnection({ host: '127.0.0.1', port: db.port, user, password });
const userExists = (name: string): boolean => db.sql(`SELECT COUNT(*) FROM mysql.global_priv WHERE User = '${name}'`).trim() !== '0';

beforeAll(async () => {
  db = await startMariadb();
  setupMyLevels(db);
  db.sql(`SET GLOBAL general_log_file = '${join(db.dir, 'general.log')}'; SET GLOBAL general_log = ON;`);
});
afterAll(async () => { await db?.stop(); });

describe('ephemeral accounts on MariaDB', () => {
  it('a read-level account logs in as itself with its role active and cannot write; its password is never in the general log', async () => {
    const admin = await open();
    const s = spec(read);
    const created = await admin.createAccount(s);
    await admin.close();
    const pw = created.secret.toString();
    expect(created.kind).toBe('password');
    expect(pw).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const r = directSql(db, s.account, pw, 'SELECT CURRENT_USER(), CURRENT_ROLE(); SELECT name FROM shop.items WHERE id = 1');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${s.account}@%\tpc_read\napple\n`);
    const w = directSql(db, s.account, pw, "INSERT INTO shop.items VALUES (2, 'pear')");
    expect(w.status).not.toBe(0);
    expect(w.stderr).toMatch(/INSERT command denied/);
    expect(readFileSync(join(db.dir, 'general.log'), 'utf8')).not.toContain(pw);
  });

  it('a write-level account (two roles) gets both through one combining role, reused by the next account of the level', async () => {
    const admin = await open();
    const a = spec(write);
    const b = spec(write);
    const pa = (await admin.createAccount(a)).secret.toString();
    const pb = (await admin.createAccount(b)).secret.toString();
    await admin.close();
    const r = directSql(db, a.account, pa, "INSERT INTO shop.items VALUES (3, 'plum'); SELECT CURRENT_ROLE(); SELECT COUNT(*) FROM shop.items WHERE id = 3");
    expect(r.stderr).toBe('');
    const role = r.stdout.split('\n')[0]!;
    expect(role).toMatch(/^pcx_lvl_[0-9a-f]{16}$/);
    expect(r.stdout.split('\n')[1]).toBe('1');
    expect(directSql(db, b.account, pb, 'SELECT CURRENT_ROLE()').stdout.trim()).toBe(role);
    expect(db.sql("SELECT COUNT(*) FROM mysql.global_priv WHERE User LIKE 'pcx\\_lvl\\_%'").trim()).toBe('1');
  });

  it('a combining role someone extended behind the gateway is refused, not handed out', async () => {
    const admin = await open();
    const s = spec(write);
    await admin.createAccount(s);
    const role = db.sql(`SELECT JSON_VALUE(Priv, '$.default_role') FROM mysql.global_priv WHERE User = '${s.account}'`).trim();
    db.sql(`GRANT FILE ON *.* TO ${role}`);
    try {
      const next = spec(write);
      const err = await admin.createAccount(next).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisionError);
      expect((err as Error).message).toMatch(new RegExp(`${role} .*carries grants Portcullis did not give it: GRANT FILE ON`));
      expect(userExists(next.account)).toBe(false);
    } finally {
      db.sql(`REVOKE FILE ON *.* FROM ${role}`);
      await admin.close();
    }
  });

  it('two ephemeral accounts do not see each other in PROCESSLIST and cannot kill each other', async () => {
    const admin = await open();
    const a = spec(read);
    const b = spec(read);
    const pa = (await admin.createAccount(a)).secret.toString();
    const pb = (await admin.createAccount(b)).secret.toString();
    await admin.close();
    const ca = await connectAs(a.account, pa);
    try {
      const [[row]] = await ca.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
      const idA = String((row as { id: number }).id);
      const seen = directSql(db, b.account, pb, 'SELECT USER FROM information_schema.PROCESSLIST');
      expect(seen.stdout).not.toContain(a.account);
      expect(seen.stdout).toContain(b.account);
      const kill = directSql(db, b.account, pb, `KILL CONNECTION ${idA}`);
      expect(kill.status).not.toBe(0);
      expect(kill.stderr).toMatch(/not owner of thread|Unknown thread/i);
      await ca.query('SELECT 1');
    } finally {
      await ca.end();
    }
  });

  it('dropAccount ends an open connection, removes the user, and is idempotent; it refuses other names', async () => {
    const admin = await open();
    const s = spec(write);
    const pw = (await admin.createAccount(s)).secret.toString();
    const conn = await connectAs(s.account, pw);
    const closed = new Promise<void>((resolve) => conn.on('error', () => resolve()));
    await admin.dropAccount(s.account, { reassignTo: null, keepHome: false });
    await closed;
    await expect(conn.query('SELECT 1')).rejects.toThrow();
    expect(userExists(s.account)).toBe(false);
    expect(directSql(db, s.account, pw, 'SELECT 1').status).not.toBe(0);
    await admin.dropAccount(s.account, { reassignTo: null, keepHome: false });
    await expect(admin.dropAccount('pcprov', { reassignTo: null, keepHome: false })).rejects.toThrow(/not an ephemeral account name/);
    await expect(admin.createAccount({ ...spec(read), account: 'root' })).rejects.toThrow(/not an ephemeral account name/);
    await admin.close();
    expect(userExists('pcprov')).toBe(true);
  });

  it('an account left by a crash is dropped and created again with a fresh password', async () => {
    const admin = await open();
    const s = spec(read);
    const first = (await admin.createAccount(s)).secret.toString();
    const second = (await admin.createAccount(s)).secret.toString();
    await admin.close();
    expect(second).not.toBe(first);
    expect(directSql(db, s.account, first, 'SELECT 1').status).not.toBe(0);
    expect(directSql(db, s.account, second, 'SELECT CURRENT_USER()').stdout.trim()).toBe(`${s.account}@%`);
  });
});

describe('the provisioner itself', () => {
  it('checkProvisioner finds nothing missing for the harness provisioner, and names a missing role and a role with global privileges', async () => {
    const admin = await open();
    expect(await admin.checkProvisioner(LEVELS)).toEqual([]);
    db.sql('CREATE ROLE IF NOT EXISTS pc_admin; GRANT SUPER ON *.* TO pc_admin; GRANT pc_admin TO pcprov@\'%\' WITH ADMIN OPTION; CREATE ROLE IF NOT EXISTS pc_orphan');
    const missing = await admin.checkProvisioner([...LEVELS, { name: 'dba', grants: ['pc_nope', 'pc_admin', 'pc_orphan'] }]);
    await admin.close();
    expect(missing).toEqual([
      'role pc_nope does not exist',
      'role pc_admin carries global privileges (SUPER): a level should grant database or table privileges only',
      "role pc_orphan is not granted to the provisioner (GRANT `pc_orphan` TO pcprov@% WITH ADMIN OPTION)",
    ]);
  });

  it('checkProvisioner names the rights a weaker provisioner lacks', async () => {
    db.sql("CREATE USER weakprov@'%' IDENTIFIED BY 'weak-pw-1'; GRANT CREATE USER ON *.* TO weakprov@'%'; GRANT pc_read TO weakprov@'%'");
    const admin = await openMyAdmin(provTarget(db, { account: 'weakprov' }), provCredential('weak-pw-1', 'weakprov'));
    const missing = await admin.checkProvisioner(LEVELS);
    await admin.close();
    expect(missing).toEqual([
      'PROCESS, to see the connections of ephemeral accounts (GRANT PROCESS ON *.* TO weakprov@%)',
      'CONNECTION ADMIN, to end the connections of ephemeral accounts (GRANT CONNECTION ADMIN ON *.* TO weakprov@%)',
      'role pc_read is granted to the provisioner without ADMIN OPTION (GRANT `pc_read` TO weakprov@% WITH ADMIN OPTION)',
      'role pc_write does not exist or is not granted to the provisioner WITH ADMIN OPTION',
    ]);
  });

  it('discover finds a privileged user created behind the gateway, and not roles or locked system accounts', async () => {
    db.sql("CREATE USER sneaky@'%' IDENTIFIED BY 'sneaky-pw-1'; GRANT ALL PRIVILEGES ON *.* TO sneaky@'%' WITH GRANT OPTION;" +
      "CREATE USER reloader@'10.%' IDENTIFIED BY 'r-pw-1'; GRANT RELOAD ON *.* TO reloader@'10.%';" +
      "CREATE USER viarole@'%' IDENTIFIED BY 'v-pw-1'; GRANT pc_admin TO viarole@'%'; CREATE USER plain@'%' IDENTIFIED BY 'p-pw-1'; GRANT SELECT ON shop.* TO plain@'%'");
    const admin = await open();
    const found = await admin.discover();
    await admin.close();
    // One row per 'user'@'host'; the provisioner's own row says so.
    expect(found.filter((f) => f.self).map((f) => f.account)).toEqual(["'pcprov'@'%'"]);
    const by = new Map(found.map((f) => [f.account.replace(/^'([^']*)'@'[^']*'$/, '$1'), f.privileges]));
    expect(by.get('sneaky')).toEqual(['all-privileges', 'grant-option']);
    expect(by.get('reloader')).toEqual(['global:RELOAD']);
    expect(by.get('viarole')).toEqual(['super']);
    expect(by.get('root')).toEqual(expect.arrayContaining(['all-privileges', 'grant-option']));
    // pcprov also holds pc_admin (SUPER) since the rights-check test.
    expect(by.get('pcprov')).toEqual(['global:CONNECTION ADMIN', 'global:CREATE USER', 'global:PROCESS', 'super']);
    for (const absent of ['plain', 'pc_read', 'pc_admin', 'mariadb.sys']) expect(by.has(absent)).toBe(false);
  });

  it('setOwnSecret makes the new password log in and the old one fail, without the password in the general log', async () => {
    db.sql("CREATE USER shopstatic@'%' IDENTIFIED BY 'static-old-pw'; GRANT SELECT ON shop.* TO shopstatic@'%'");
    const admin = await openMyAdmin(provTarget(db, { account: 'shopstatic' }), provCredential('static-old-pw', 'shopstatic'));
    const next = Buffer.from('Static-New-Canary-9');
    await admin.setOwnSecret(next);
    await admin.close();
    expect(directSql(db, 'shopstatic', 'static-old-pw', 'SELECT 1').stderr).toMatch(/Access denied/);
    expect(directSql(db, 'shopstatic', 'Static-New-Canary-9', 'SELECT CURRENT_USER()').stdout.trim()).toBe('shopstatic@%');
    expect(readFileSync(join(db.dir, 'general.log'), 'utf8')).not.toContain('Static-New-Canary-9');
  });

  it('a server whose password validation refuses hashes is a clear refusal: the password is never sent in clear instead', async () => {
    db.sql("INSTALL SONAME 'simple_password_check'");
    try {
      const admin = await open();
      const s = spec(read);
      const err = await admin.createAccount(s).catch((e: unknown) => e);
      await admin.close();
      expect(err).toBeInstanceOf(ProvisionError);
      expect((err as Error).message).toMatch(/refuses passwords given as a hash .*strict_password_validation=OFF/);
      expect(userExists(s.account)).toBe(false);
    } finally {
      db.sql("UNINSTALL SONAME 'simple_password_check'");
    }
  });

  it('a wrong provisioner password is a refusal that names no secret', async () => {
    const err = await openMyAdmin(provTarget(db), provCredential('wrong-password-x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as Error).message).not.toContain('wrong-password-x');
    expect((err as Error).message).not.toContain(PROV_PASSWORD);
  });
});

describe('hostile role names', () => {
  it('a role name that tries to end the statement is one (missing) name, in both backslash modes', async () => {
    const hostile = ["x`; DROP USER pcprov; --", "x'; DROP ROLE pc_read; --", 'x\\\'; DROP ROLE pc_read; -- '];
    for (const mode of ['', 'NO_BACKSLASH_ESCAPES']) {
      db.sql(`SET GLOBAL sql_mode = '${mode}'`);
      const admin = await open();
      for (const role of hostile) {
        const err = await admin.createAccount(spec({ name: 'evil', grants: [role] })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProvisionError);
        expect((err as ProvisionError).kind).toBe('no-such-level-grant');
        expect((await admin.checkProvisioner([{ name: 'evil', grants: [role] }]))[0]).toBe(`role ${role} does not exist`);
      }
      await admin.close();
    }
    db.sql("SET GLOBAL sql_mode = DEFAULT");
    expect(userExists('pcprov')).toBe(true);
    expect(db.sql("SELECT COUNT(*) FROM mysql.global_priv WHERE User IN ('pc_read', 'pc_write')").trim()).toBe('2');
  });

  it('a real role with quotes and a backslash in its name is granted as itself', async () => {
    const role = "q'uo\\te`d";
    const quoted = '`' + role.replaceAll('`', '``') + '`';
    db.sql(`CREATE ROLE ${quoted}; GRANT SELECT ON shop.* TO ${quoted}; GRANT ${quoted} TO pcprov@'%' WITH ADMIN OPTION`);
    for (const mode of ['NO_BACKSLASH_ESCAPES', '']) {
      db.sql(`SET GLOBAL sql_mode = '${mode}'`);
      const admin = await open();
      expect(await admin.checkProvisioner([{ name: 'odd', grants: [role] }])).toEqual([]);
      const s = spec({ name: 'odd', grants: [role] });
      const pw = (await admin.createAccount(s)).secret.toString();
      expect(directSql(db, s.account, pw, 'SELECT CURRENT_ROLE()').stdout.trim()).toBe(role);
      await admin.dropAccount(s.account, { reassignTo: null, keepHome: false });
      await admin.close();
    }
    db.sql('SET GLOBAL sql_mode = DEFAULT');
  });
});
