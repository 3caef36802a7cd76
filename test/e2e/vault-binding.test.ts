// Issue 14 items 2 and 3 against real peers: a real psql session through the gateway to a real
// PostgreSQL 15; then someone with write access to the gateway's SQLite store re-points the target
// (port, then account, with better-sqlite3 directly, gateway running; host with the gateway
// stopped): the next login is refused with the message telling the admin what to do, the impostor
// at the new address never hears from the gateway, and the secret appears nowhere. `target update`
// refuses to re-point without the credential, re-points with it (ending the live session
// `target-changed`); a pre-upgrade (v1) credential is converted once at start and refused when put
// back later; and `vault rotate-key` leaves no master.key.old (unless --keep-old).
import Database from 'better-sqlite3';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn } from '../harness/cli-in-process.js';
import { waitFor } from '../harness/common.js';
import { type CliResult, json } from '../harness/gateway.js';
import { startPgPasswordSink, type PgPasswordSink } from '../harness/impostors/pg-password-sink.js';
import { DB_PASSWORD, DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { PipedClient } from '../harness/piped-client.js';
import { readKeyFile } from '../../gateway/vault/master-key.js';
import { aadFor, Vault } from '../../gateway/vault/vault.js';

const OTHER_PASSWORD = 'Other-Role-Canary-93';
let fx: PgFixture;
let sink: PgPasswordSink;

beforeAll(async () => {
  [fx, sink] = await Promise.all([startPgFixture(), startPgPasswordSink()]);
  fx.pg.sql(`CREATE ROLE app2 LOGIN PASSWORD '${OTHER_PASSWORD}'`);
  fx.pg.sql('GRANT ALL ON DATABASE orders TO app2');
  fx.grant('30m');
}, 120_000);

afterAll(async () => { await Promise.all([fx?.stop(), sink?.stop()]); });

/** What someone holding the database file can do, while the gateway runs (WAL, busy timeout). */
function editRow(sql: string, ...params: unknown[]): void {
  const db = new Database(join(fx.gw.dataDir, 'state.db'));
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

const row = (): { id: string; host: string; port: number; account: string; credential_sealed: string } => {
  const db = new Database(join(fx.gw.dataDir, 'state.db'), { readonly: true });
  try {
    return db.prepare("SELECT id, host, port, account, credential_sealed FROM targets WHERE name = 'orders-db'").get() as ReturnType<typeof row>;
  } finally {
    db.close();
  }
};

interface AuditRow { code: string; data: Record<string, unknown> }
// The admin CLI in process (test/harness/cli-in-process.ts): the same code and output without
// ~1.2 s of Node start-up a call; vault rotate-key stays a real process.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);
const audit = async (): Promise<AuditRow[]> => (await admin(['audit', 'export'])).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRow);
const everythingShown: string[] = [];
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

function refusedAsUnbound(): void {
  const r = fx.psql(['-tAc', 'select 1']);
  everythingShown.push(r.stdout, r.stderr);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/vaulted credential of orders-db does not open for its current host, port, account or TLS settings/);
  expect(r.stderr).toMatch(/portcullis target update orders-db --password-stdin/);
}

describe('a vaulted credential bound to where it may be sent', () => {
  it('works as entered: a real psql session', () => {
    const r = fx.psql(['-tAc', 'select current_user']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('app');
    expect(row().credential_sealed.startsWith('v2.')).toBe(true);
  });

  it('does not go to an impostor when the port is re-pointed in the database under the running gateway', async () => {
    const original = row();
    editRow("UPDATE targets SET port = ? WHERE name = 'orders-db'", sink.port);
    refusedAsUnbound();
    // The credential never opened, so the gateway never even connected to the new address.
    expect(sink.connections()).toBe(0);
    expect(sink.received()).not.toContain(DB_PASSWORD);
    const failed = (await audit()).filter((e) => e.code === 'session.upstream_failed');
    expect(failed.at(-1)?.data).toMatchObject({ target: 'orders-db', reason: 'credential-unbound' });
    // `target test` says the same to the admin.
    const test = await admin(['target', 'test', 'orders-db', '--json']);
    everythingShown.push(test.stdout, test.stderr);
    expect(test.code).not.toBe(0);
    expect(test.stderr).toMatch(/portcullis target update orders-db --password-stdin/);
    // The CLI calls block this process's event loop: let the impostor accept anything pending first.
    await settle();
    expect(sink.connections()).toBe(0);
    editRow("UPDATE targets SET port = ? WHERE name = 'orders-db'", original.port);
    expect(fx.psql(['-tAc', 'select 1']).status).toBe(0);
  });

  it('does not open when the account is changed in the database, nor when an old-format value is put back', () => {
    const original = row();
    editRow("UPDATE targets SET account = 'app2' WHERE name = 'orders-db'");
    refusedAsUnbound();
    editRow("UPDATE targets SET account = ? WHERE name = 'orders-db'", original.account);
    // A v2 value relabelled v1 (the "not migrated" trick) is refused too, and the next start does not migrate it.
    editRow("UPDATE targets SET credential_sealed = ? WHERE name = 'orders-db'", 'v1' + original.credential_sealed.slice(2));
    refusedAsUnbound();
    editRow("UPDATE targets SET credential_sealed = ? WHERE name = 'orders-db'", original.credential_sealed);
    expect(fx.psql(['-tAc', 'select 1']).status).toBe(0);
  });

  it('does not open when the host is changed with the gateway stopped, after a restart', async () => {
    await fx.gw.crash();
    editRow("UPDATE targets SET host = '127.0.0.2', port = ? WHERE name = 'orders-db'", sink.port);
    await fx.gw.restart();
    refusedAsUnbound();
    await settle();
    expect(sink.connections()).toBe(0);
  }, 90_000);

  it('target update refuses to re-point without the credential, and with it works (the admin checks and re-enters)', async () => {
    const refused = await admin(['target', 'update', 'orders-db', '--host', '127.0.0.1', '--port', String(fx.pg.port)]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/changing host, port of orders-db changes where its credential is sent.*--password-stdin/);
    refusedAsUnbound();
    const ok = await admin(['target', 'update', 'orders-db', '--host', '127.0.0.1', '--port', String(fx.pg.port), '--password-stdin', '--json'], `${DB_PASSWORD}\n`);
    expect(ok.code, ok.stderr).toBe(0);
    everythingShown.push(ok.stdout);
    expect(JSON.parse(ok.stdout)).toMatchObject({ host: '127.0.0.1', port: fx.pg.port, changed: ['host', 'port'], credential: 'replaced', repointed: true });
    const r = fx.psql(['-tAc', 'select current_user']);
    expect(r.status, r.stderr).toBe(0);
    // Tags alone need no credential.
    expect((await admin(['target', 'update', 'orders-db', '--tag', 'prod'])).code).toBe(0);
    const updated = (await audit()).filter((e) => e.code === 'target.updated').map((e) => e.data);
    expect(updated).toEqual([
      { target: 'orders-db', changed: ['host', 'port'], credential: 'replaced', from: { host: '127.0.0.2', port: sink.port }, to: { host: '127.0.0.1', port: fx.pg.port } },
      { target: 'orders-db', changed: ['tags'], credential: 'kept', from: { tags: '' }, to: { tags: 'prod' } },
    ]);
  });

  it('ends a live psql session target-changed when the target is re-pointed through the CLI; the next login goes to the new account', async () => {
    const c = new PipedClient('psql', ['-X', fx.conninfo()], { PGPASSWORD: DBA_PASSWORD });
    c.type('select pg_sleep(60);');
    type S = { id: string; target: string; live: boolean; end_reason: string | null };
    const sessions = async (): Promise<S[]> => json<S[]>(await admin(['session', 'list', '--json']));
    await waitFor('a live psql session', async () => (await sessions()).some((s) => s.live), 30_000);
    const id = (await sessions()).find((s) => s.live)!.id;
    const up = await admin(['target', 'update', 'orders-db', '--account', 'app2', '--password-stdin'], `${OTHER_PASSWORD}\n`);
    expect(up.code, up.stderr).toBe(0);
    const code = await c.exited;
    everythingShown.push(c.output);
    expect(code).not.toBe(0);
    expect(c.output).toMatch(/the target orders-db was changed by a Portcullis admin/);
    await waitFor('the session to end', async () => (await sessions()).find((s) => s.id === id)?.end_reason === 'target-changed', 10_000);
    // The figure for the README: from the change's audit entry to the session's end (gateway clock).
    const changedAt = ((await audit()) as Array<AuditRow & { ts: number }>).filter((e) => e.code === 'target.updated').at(-1)!.ts;
    const endedAt = Date.parse(((await sessions()).find((s) => s.id === id) as S & { ended_at: string }).ended_at);
    console.log(`target-changed: session ended ${endedAt - changedAt} ms after the target.updated entry`);
    expect(endedAt - changedAt).toBeLessThan(1000);
    const r = fx.psql(['-tAc', 'select current_user']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('app2');
  }, 90_000);

  it('converts a pre-upgrade (v1) credential once, at the first start without the marker, and refuses one put back later', async () => {
    const dataDir = fx.gw.dataDir;
    const vault = new Vault([readKeyFile(join(dataDir, 'master.key'))]);
    // What the store of a gateway from before issue 14 holds: the credential bound to the id only.
    const legacy = vault.seal(OTHER_PASSWORD, aadFor.legacyTarget(row().id));
    await fx.gw.crash();
    editRow("UPDATE targets SET credential_sealed = ? WHERE name = 'orders-db'", legacy);
    rmSync(join(dataDir, 'vault-bound'));
    await fx.gw.restart();
    const r = fx.psql(['-tAc', 'select current_user']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('app2');
    expect(row().credential_sealed.startsWith('v2.')).toBe(true);
    expect(existsSync(join(dataDir, 'vault-bound'))).toBe(true);
    expect((await audit()).filter((e) => e.code === 'vault.credentials_bound').map((e) => e.data)).toEqual([{ migrated: 1, left: [] }]);
    // The same v1 value put back by someone with the database: refused, and not converted at the next start.
    await fx.gw.crash();
    editRow("UPDATE targets SET credential_sealed = ? WHERE name = 'orders-db'", legacy);
    await fx.gw.restart();
    refusedAsUnbound();
    expect(row().credential_sealed).toBe(legacy);
    expect((await admin(['target', 'update', 'orders-db', '--password-stdin'], `${OTHER_PASSWORD}\n`)).code).toBe(0);
    expect(fx.psql(['-tAc', 'select 1']).status).toBe(0);
  }, 120_000);

  it('vault rotate-key removes master.key.old once verified, keeps it with --keep-old, and sessions still log in', async () => {
    const key = join(fx.gw.dataDir, 'master.key');
    const r = json<{ resealed: number; old_key: string }>(fx.gw.admin(['vault', 'rotate-key', '--json']));
    expect(r).toMatchObject({ old_key: 'removed' });
    expect(existsSync(key + '.old')).toBe(false);
    expect(existsSync(key + '.new')).toBe(false);
    expect(fx.psql(['-tAc', 'select 1']).status).toBe(0);
    const before = readFileSync(key, 'utf8');
    expect(json<{ old_key: string }>(fx.gw.admin(['vault', 'rotate-key', '--keep-old', '--json']))).toMatchObject({ old_key: 'kept' });
    expect(readFileSync(key + '.old', 'utf8')).toBe(before);
    expect((await audit()).filter((e) => e.code === 'vault.rotated').map((e) => e.data.oldKey)).toEqual(['removed', 'kept']);
  });

  it('never shows either vaulted password in what clients and the admin saw, the audit log or the gateway log', async () => {
    const seen = [...everythingShown, (await admin(['audit', 'export'])).stdout, fx.gw.log(), (await admin(['target', 'list', '--json'])).stdout].join('\n');
    for (const s of [DB_PASSWORD, OTHER_PASSWORD]) expect(seen).not.toContain(s);
    expect(sink.received()).not.toContain(DB_PASSWORD);
  });
});
