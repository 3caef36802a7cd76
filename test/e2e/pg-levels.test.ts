// Issue 15 item 1 through the real gateway, psql and PostgreSQL 15, on a static target: the level in
// the user name (USER+TARGET+LEVEL), on the session in `session list` and the API, and the refusals
// for an unknown level, a level without a grant and a malformed name; the target's levels on the
// CLI, changed only with the credential again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminIn } from '../harness/cli-in-process.js';
import { waitFor } from '../harness/common.js';
import { type CliResult, json } from '../harness/gateway.js';
import { DB_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';

let fx: PgFixture;

beforeAll(async () => {
  fx = await startPgFixture();
}, 120_000);

afterAll(async () => { await fx?.stop(); });

interface SessionRow { id: string; user: string; target: string; level: string | null; protocol: string; live: boolean }
interface GrantRow { id: string; level: string; status: string }

// The admin CLI in process (test/harness/cli-in-process.ts): the same code and output without
// ~1.2 s of Node start-up a call.
const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(fx.gw, args, stdin);
const grantIn = async (duration: string): Promise<string> =>
  json<{ id: string }>(await admin(['grant', 'add', '--user', 'dba', '--target', 'orders-db', '--for', duration, '--reason', 'test', '--json'])).id;
const as = (principal: string): string => fx.conninfo().replace('user=dba+orders-db', `user=${principal}`);

describe('access levels through the PostgreSQL front end', () => {
  it('connects as dba+orders-db+default and shows level default on the session, in the CLI table and the API', async () => {
    const grant = await grantIn('10m');
    expect(json<GrantRow[]>(await admin(['grant', 'list', '--active', '--json']))).toEqual([expect.objectContaining({ id: grant, level: 'default' })]);
    const r = fx.psql(['-At', '-c', 'select current_user'], { conninfo: as('dba+orders-db+default') });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('app');
    await waitFor('session recorded', async () => json<SessionRow[]>(await admin(['session', 'list', '--json'])).some((s) => !s.live), 5000);
    // The CLI's --json is the API's answer (GET /api/v1/sessions) as is.
    const [s] = json<SessionRow[]>(await admin(['session', 'list', '--json']));
    expect(s).toMatchObject({ user: 'dba', target: 'orders-db', protocol: 'postgres', level: 'default' });
    const table = (await admin(['session', 'list'])).stdout.split('\n');
    expect(table[0]).toMatch(/^ID +PROTOCOL +USER +TARGET +LEVEL +STARTED_AT/);
    expect(table[1]).toMatch(/ dba +orders-db +default /);
    await admin(['grant', 'revoke', grant]);
  }, 40_000);

  it('refuses dba+orders-db+nope naming the target\'s levels, and a name with a fourth part', async () => {
    const grant = await grantIn('10m');
    const r = fx.psql(['-c', 'select 1'], { conninfo: as('dba+orders-db+nope') });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('orders-db has no level "nope"; its levels are: default');
    expect(r.stdout).toBe('');
    const m = fx.psql(['-c', 'select 1'], { conninfo: as('dba+orders-db+default+x') });
    expect(m.status).not.toBe(0);
    expect(m.stderr).toMatch(/connect as USER\+TARGET \(or USER\+TARGET\+LEVEL\)/);
    const denied = json<Array<{ code: string; data: { level?: string } }>>(await admin(['audit', 'list', '--json'])).filter((e) => e.code === 'access.denied');
    expect(denied.map((e) => e.data.level)).toContain('nope');
    await admin(['grant', 'revoke', grant]);
  });

  it('changes the levels of a target only with its credential, and then asks for a grant at the level named', async () => {
    const change = ['target', 'update', 'orders-db', '--level', 'default=', '--level', 'audit='];
    const refused = await admin(change);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/changing --level of orders-db changes what its credential may do.*--password-stdin/);
    const ok = await admin([...change, '--password-stdin'], `${DB_PASSWORD}\n`);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/^levels: default= audit=$/m);
    expect((await admin(['target', 'list'])).stdout).toMatch(/CREDENTIAL_MODE +LEVELS +ROTATE[\s\S]*static +default= audit= +off/);

    const grant = json<GrantRow>(await admin(['grant', 'add', '--user', 'dba', '--target', 'orders-db', '--for', '10m', '--reason', 't', '--json']));
    expect(grant.level).toBe('default');
    const r = fx.psql(['-c', 'select 1'], { conninfo: as('dba+orders-db+audit') });
    expect(r.stderr).toContain('no active grant for dba on orders-db at level audit (you hold: default); request one with: portcullis request orders-db --level audit');
    const audit = json<GrantRow>(await admin(['grant', 'add', '--user', 'dba', '--target', 'orders-db', '--level', 'audit', '--for', '10m', '--reason', 't', '--json']));
    expect(audit.level).toBe('audit');
    expect(fx.psql(['-At', '-c', 'select current_user'], { conninfo: as('dba+orders-db+audit') }).stdout.trim()).toBe('app');
    expect((await admin(['grant', 'list', '--active'])).stdout).toMatch(/LEVEL[\s\S]* audit +admin/);
  }, 40_000);
});
