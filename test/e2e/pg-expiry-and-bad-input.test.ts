// The cut for database sessions (NoticeResponse warning, FATAL 57P01 at the deadline, revocation
// within a second) and hostile or broken clients on the PostgreSQL port.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tmux } from '../harness/ssh-fixture.js';
import { waitFor } from '../harness/common.js';
import { DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { gatewayCutMs } from '../harness/cut-timing.js';

let fx: PgFixture;

beforeAll(async () => {
  fx = await startPgFixture({ PORTCULLIS_WARN_BEFORE: '3s' });
}, 120_000);

afterAll(async () => { await fx?.stop(); });

interface SessionRow { id: string; end_reason: string | null; protocol: string }
const sessions = (): SessionRow[] => JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as SessionRow[];

describe('the cut for PostgreSQL sessions', () => {
  it('warns with a notice before the grant ends and ends the session with FATAL 57P01 at the deadline', async () => {
    const grantId = fx.grant('6s');
    const t = Tmux.start(`env PGPASSWORD=${DBA_PASSWORD} psql -X -v VERBOSITY=verbose "${fx.conninfo()}"`);
    try {
      await t.waitFor(/orders=>/);
      await t.waitFor(/your access to orders-db ends in 3 s/, 10_000).catch(() => {
        // psql prints notices when it next reads from the server: poke it.
        t.send('select 1;');
        return t.waitFor(/your access to orders-db ends in \d s/, 5000);
      });
      t.send('select pg_sleep(10);');
      const screen = await t.waitFor(/FATAL: {2}57P01: Portcullis: your access to orders-db has ended \(grant expired\)/, 15_000);
      expect(screen).toMatch(/server closed the connection|connection to server was lost|closed unexpectedly/i);
    } finally {
      t.kill();
    }
    await waitFor('session end recorded', () => sessions().some((s) => s.protocol === 'postgres' && s.end_reason === 'grant-expired'), 5000);
    fx.gw.admin(['grant', 'revoke', grantId]);
  }, 40_000);

  it('ends a session within a second of revocation', async () => {
    const grantId = fx.grant('10m');
    const t = Tmux.start(`env PGPASSWORD=${DBA_PASSWORD} psql -X "${fx.conninfo()}"`);
    try {
      await t.waitFor(/orders=>/);
      t.send('select pg_sleep(20);');
      await new Promise((r) => setTimeout(r, 500));
      fx.gw.admin(['grant', 'revoke', grantId, '--reason', 'test']);
      const cliDone = Date.now();
      await t.waitFor(/57P01|your access to orders-db was revoked|server closed the connection/);
      expect(Date.now() - cliDone).toBeLessThan(1500);
    } finally {
      t.kill();
    }
    await waitFor('session end recorded', () => sessions().some((s) => s.end_reason === 'grant-revoked'), 5000);
    expect(gatewayCutMs(fx.gw, 'grant.revoked', 'grant-revoked')).toBeLessThan(1000);
  });
});

/** Sends bytes, returns what the server answered before closing (or '' if it closed silently). */
function probe(bytes: Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(fx.gw.ports.postgres, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => {});
    s.on('connect', () => s.write(bytes));
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(got)); });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('server did not close')); }, timeoutMs);
  });
}

const startup = (code: number, params: Record<string, string>): Buffer => {
  const body = Buffer.concat([Buffer.alloc(4), ...Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)), Buffer.from([0])]);
  body.writeInt32BE(code, 0);
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length + 4);
  return Buffer.concat([len, body]);
};

describe('bad input on the PostgreSQL port', () => {
  it('answers malformed startups with a protocol error, and a live session keeps working', async () => {
    fx.grant('10m');
    const pg = await import('pg');
    const c = new pg.default.Client({ connectionString: `postgresql://dba%2Borders-db:${DBA_PASSWORD}@127.0.0.1:${fx.gw.ports.postgres}/orders?sslmode=no-verify` });
    await c.connect();
    try {
      const garbage = await probe(randomBytes(512));
      const huge = await probe(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]));
      const noUser = await probe(startup(196608, { database: 'orders' }));
      const badVersion = await probe(startup(0x00050000, { user: 'dba+orders-db' }));
      // A typed message the protocol lacks, after a plaintext startup (refused for TLS first anyway).
      const plain = await probe(Buffer.concat([startup(196608, { user: 'dba+orders-db' }), Buffer.from('Zjunk')]));
      for (const answer of [garbage, huge, badVersion]) expect(answer.toString('latin1')).toMatch(/^E[\s\S]*08P01/);
      expect(noUser.toString('latin1')).toMatch(/28000[\s\S]*Portcullis requires TLS|28000/);
      expect(plain.toString('latin1')).toMatch(/requires TLS/);
      // Stops mid-message: the handshake deadline or the close ends it; nothing else is affected.
      const half = connect(fx.gw.ports.postgres, '127.0.0.1');
      half.on('error', () => {});
      half.write(Buffer.from([0, 0, 0, 40, 0, 3]));
      half.destroy();
      expect((await c.query('select 41 + 1 as n')).rows).toEqual([{ n: 42 }]);
    } finally {
      await c.end();
    }
    expect(fx.gw.log()).toMatch(/"msg":"pg.refused"/);
  });

  it('ends a session whose client sends a message the protocol does not have, with 08P01', async () => {
    // A real login through TLS, then garbage: the relay's framer refuses a length under 4.
    const pg = await import('pg');
    const c = new pg.default.Client({ connectionString: `postgresql://dba%2Borders-db:${DBA_PASSWORD}@127.0.0.1:${fx.gw.ports.postgres}/orders?sslmode=no-verify` });
    await c.connect();
    const stream = (c as unknown as { connection: { stream: TLSSocket } }).connection.stream;
    const ended = new Promise<void>((r) => stream.once('close', () => r()));
    c.on('error', () => {});
    stream.write(Buffer.from([0x51, 0, 0, 0, 1]));
    await ended;
    await waitFor('protocol-error recorded', () => sessions().some((s) => s.end_reason === 'protocol-error'), 5000);
  });
});
