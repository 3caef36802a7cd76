// The idle timeout for PostgreSQL sessions (postgres.idleTimeout, the pipeline's one mechanism):
// a psql session left idle is cut with FATAL 57P01 saying why, and the reason is recorded.
// Real psql → gateway → real PostgreSQL 15.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, waitFor } from '../harness/common.js';
import { json } from '../harness/gateway.js';
import { DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { PipedClient } from '../harness/piped-client.js';

let fx: PgFixture;

beforeAll(async () => {
  fx = await startPgFixture({ PORTCULLIS_POSTGRES_IDLE_TIMEOUT: '3s' });
  fx.grant('10m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

interface SessionRow { id: string; protocol: string; end_reason: string | null }
const sessions = (): SessionRow[] => json<SessionRow[]>(fx.gw.admin(['session', 'list', '--json']));

describe('the PostgreSQL idle timeout', () => {
  it('cuts an idle psql session with FATAL 57P01 and records idle-timeout', async () => {
    const psql = new PipedClient(requireBinary('postgresql-client-15', 'psql'), ['-X', '-A', '-t', fx.conninfo()], { PGPASSWORD: DBA_PASSWORD });
    psql.type('select 40 + 2;');
    await psql.waitFor(/^42$/m);
    // Statements a second apart keep it alive past the timeout (4 s > 3 s, with 2 s to spare for a
    // stalled machine between two of them)...
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      psql.type(`select 'still-here-${i}';`);
      await psql.waitFor(new RegExp(`still-here-${i}`));
    }
    // ...then nothing moves for longer than the timeout.
    await waitFor('the idle cut recorded', () => sessions().some((s) => s.protocol === 'postgres' && s.end_reason === 'idle-timeout'), 15_000);
    psql.type('select 1;');
    const status = await psql.end();
    expect(status).not.toBe(0);
    expect(psql.output).toMatch(/Portcullis: session closed after being idle too long|server closed the connection/);
  });
});
