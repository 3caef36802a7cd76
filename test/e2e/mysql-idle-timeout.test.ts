// The idle timeout for MySQL sessions (mysql.idleTimeout, the pipeline's one mechanism): a mariadb
// client session left idle is cut and the reason recorded. Real mariadb client → gateway → MariaDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, waitFor } from '../harness/common.js';
import { json } from '../harness/gateway.js';
import { DBA_PASSWORD, type MyFixture, startMyFixture } from '../harness/my-fixture.js';
import { PipedClient } from '../harness/piped-client.js';

let fx: MyFixture;

beforeAll(async () => {
  fx = await startMyFixture({ PORTCULLIS_MYSQL_IDLE_TIMEOUT: '3s' });
  fx.grant('10m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

interface SessionRow { id: string; protocol: string; end_reason: string | null }
const sessions = (): SessionRow[] => json<SessionRow[]>(fx.gw.admin(['session', 'list', '--json']));

describe('the MySQL idle timeout', () => {
  it('cuts an idle mariadb session and records idle-timeout', async () => {
    const client = new PipedClient(requireBinary('mariadb-client', 'mariadb'), [
      '--no-defaults', '-h', '127.0.0.1', '-P', String(fx.gw.ports.mysql), '-u', 'dba+shop-db', `-p${DBA_PASSWORD}`, '--ssl',
      '--batch', '--skip-reconnect', '--unbuffered',
    ]);
    client.type('select 40 + 2 as answer;');
    await client.waitFor(/^42$/m);
    // Statements a second apart keep it alive past the timeout (4 s > 3 s, with 2 s to spare for a
    // stalled machine between two of them).
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      client.type(`select 'still-here-${i}' as s;`);
      await client.waitFor(new RegExp(`still-here-${i}`));
    }
    await waitFor('the idle cut recorded', () => sessions().some((s) => s.protocol === 'mysql' && s.end_reason === 'idle-timeout'), 15_000);
    client.type('select 1;');
    const status = await client.end();
    expect(status).not.toBe(0);
    expect(client.output).toMatch(/idle too long|server has gone away|Lost connection/);
  });
});
