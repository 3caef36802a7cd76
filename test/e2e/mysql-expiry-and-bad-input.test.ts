// The cut for MySQL sessions (a warning on the next statement after the warning time, error 1927
// at the deadline, revocation at once) and hostile or broken clients on the MySQL port.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { DBA_PASSWORD, type MyFixture, startMyFixture } from '../harness/my-fixture.js';
import { gatewayCutMs } from '../harness/cut-timing.js';

let fx: MyFixture;

beforeAll(async () => {
  fx = await startMyFixture({ PORTCULLIS_WARN_BEFORE: '3s' });
}, 120_000);

afterAll(async () => { await fx?.stop(); });

const connectDb = (): Promise<mysql.Connection> => mysql.createConnection({
  host: '127.0.0.1', port: fx.gw.ports.mysql, user: 'dba+shop-db', password: DBA_PASSWORD, database: 'shop',
  ssl: { ca: readFileSync(fx.gw.caFile, 'utf8') },
});
const sessions = (): Array<{ end_reason: string | null; protocol: string }> =>
  JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ end_reason: string | null; protocol: string }>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the cut for MySQL sessions', () => {
  it('warns on the next statement after the warning time, then cuts at the deadline with the reason', async () => {
    const grantId = fx.grant('6s');
    const c = await connectDb();
    const closed = new Promise<void>((r) => c.on('end', () => r()));
    c.on('error', () => {});
    try {
      expect((await c.query('select 1 as n'))[0]).toEqual([{ n: 1 }]);
      await sleep(3500);
      await expect(c.query('select 2 as n')).rejects.toThrow(/Portcullis: your access to shop-db ends in \d s \(the statement was not run; run it again\)/);
      expect((await c.query('select 3 as n'))[0]).toEqual([{ n: 3 }]);
      await Promise.race([closed, sleep(5000)]);
      await expect(c.query('select 4')).rejects.toThrow();
    } finally {
      c.destroy();
    }
    await waitFor('grant-expired recorded', () => sessions().some((s) => s.protocol === 'mysql' && s.end_reason === 'grant-expired'), 5000);
    fx.gw.admin(['grant', 'revoke', grantId]);
  }, 30_000);

  it('cuts a running statement within a second of revocation', async () => {
    const grantId = fx.grant('10m');
    const c = await connectDb();
    c.on('error', () => {});
    try {
      const running = c.query('select sleep(20)').catch((e: Error) => e);
      await sleep(500);
      fx.gw.admin(['grant', 'revoke', grantId, '--reason', 'test']);
      const cliDone = Date.now();
      const result = await running;
      expect(result).toBeInstanceOf(Error);
      expect(Date.now() - cliDone).toBeLessThan(1500);
    } finally {
      c.destroy();
    }
    await waitFor('grant-revoked recorded', () => sessions().some((s) => s.end_reason === 'grant-revoked'), 5000);
    expect(gatewayCutMs(fx.gw, 'grant.revoked', 'grant-revoked')).toBeLessThan(1000);
  });
});

function probe(bytes: Buffer, opts: { readFirst?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(fx.gw.ports.mysql, '127.0.0.1');
    const got: Buffer[] = [];
    let greeted = false;
    s.on('data', (d: Buffer) => {
      got.push(d);
      if (!greeted) { greeted = true; if (opts.readFirst !== false) s.write(bytes); }
    });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(got)); });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('server did not close')); }, 10_000);
  });
}

describe('bad input on the MySQL port', () => {
  it('closes garbage, oversized and out-of-order handshakes with an error, while a live session keeps working', async () => {
    fx.grant('10m');
    const c = await connectDb();
    try {
      const garbage = await probe(randomBytes(200));
      const oversized = await probe(Buffer.from([0xff, 0xff, 0xff, 0x01, 0x00]));
      const outOfOrder = await probe(Buffer.concat([Buffer.from([40, 0, 0, 7]), Buffer.alloc(40)]));
      const oldProtocol = await probe(Buffer.concat([Buffer.from([32, 0, 0, 1]), Buffer.alloc(32)]));
      for (const answer of [garbage, oversized, outOfOrder, oldProtocol]) {
        // The greeting, then an ERR packet (0xff) before the close.
        expect(answer[4]).toBe(10);
        expect(answer.subarray(5).toString('latin1')).toMatch(/^\d+\.\d+/);
        expect(answer.includes(Buffer.from([0xff]))).toBe(true);
      }
      // Stalls mid-packet: closed at the handshake deadline or when it goes; nothing else affected.
      const stall = connect(fx.gw.ports.mysql, '127.0.0.1');
      stall.on('error', () => {});
      stall.on('data', () => { stall.write(Buffer.from([100, 0, 0, 1, 1, 2])); setTimeout(() => stall.destroy(), 200); });
      await sleep(500);
      expect((await c.query('select 6 * 7 as n'))[0]).toEqual([{ n: 42 }]);
    } finally {
      await c.end();
    }
    expect(fx.gw.log()).toMatch(/"msg":"mysql.refused"/);
  });
});

describe('database logins for users with a second factor', () => {
  it('takes the per-grant one-time database password, and not the account password', async () => {
    fx.grant('10m');
    const { totpAt } = await import('../../gateway/access/totp.js');
    const secret = /secret=([A-Z2-7]+)/.exec(fx.gw.admin(['user', 'totp', 'dba', '--json']).stdout)![1]!;
    expect(fx.gw.login('dba', DBA_PASSWORD, totpAt(secret, Date.now())).code).toBe(0);
    expect(fx.client('select 1').stderr).toMatch(/Access denied .*; check the user name and password; an account with a one-time code or single sign-on uses a database password from: portcullis db-password shop-db/);
    const password = fx.gw.as('dba', ['db-password', 'shop-db']).stdout.trim();
    const r = fx.client('select current_user()', { password });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/shopapp@/);
  });
});

