// The PostgreSQL store when things go wrong, on a real PostgreSQL 15: a server that is not there
// (or does not answer), one that stops under a live store and comes back, a schema newer than this
// build, two nodes migrating at once, and the audit log's append-only trigger.
import { connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../gateway/store/postgres/postgres-store.js';
import type { Store } from '../../gateway/store/store.js';
import { isPortcullisError } from '../../gateway/util/errors.js';
import { freePort } from '../harness/common.js';
import { startPostgres, type PostgresPeer } from '../harness/postgres.js';
import { aUser } from './store-fixtures.js';

let peer: PostgresPeer;
let dbs = 0;

const urlOf = (db: string, port = peer.port, password = peer.password): string =>
  `postgres://${peer.superuser}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

async function freshDb(): Promise<string> {
  const db = `faults_${++dbs}`;
  // A client of its own each time: the restart test drops every connection.
  const c = new pg.Client({ connectionString: urlOf('postgres') });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${db}`);
  } finally {
    await c.end();
  }
  return db;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (err) {
    if (!isPortcullisError(err)) throw err;
    return { code: err.code, message: err.message, ms: Date.now() - t0 };
  }
  throw new Error('expected a rejection');
}

async function eventually<T>(what: string, fn: () => Promise<T>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw new Error(`${what}: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

beforeAll(async () => {
  peer = await startPostgres();
});

afterAll(async () => {
  await peer?.stop();
}, 30_000);

/**
 * A TCP relay to PostgreSQL that can go silent like a partition: while frozen it drops every byte
 * both ways and connects nothing, without closing anything.
 */
async function freezableRelay(targetPort: number): Promise<{ port: number; freeze(): void; thaw(): void; close(): void }> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server = createServer((a) => {
    sockets.add(a);
    a.on('error', () => undefined);
    a.on('close', () => sockets.delete(a));
    if (frozen) return;
    const b = connect(targetPort, '127.0.0.1');
    sockets.add(b);
    b.on('error', () => a.destroy());
    b.on('close', () => { sockets.delete(b); a.destroy(); });
    a.on('close', () => b.destroy());
    a.on('data', (d) => { if (!frozen) b.write(d); });
    b.on('data', (d) => { if (!frozen) a.write(d); });
    a.on('end', () => b.end());
    b.on('end', () => a.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => { frozen = true; },
    thaw: () => { frozen = false; },
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

describe('PostgreSQL store faults', () => {
  it('refuses to open when the server is not there: unavailable, naming host:port, never the password', async () => {
    const port = await freePort();
    const f = await failure(openPostgresStore(`postgres://portcullis:Secret-Pw-42@127.0.0.1:${port}/gw`));
    expect(f.code).toBe('unavailable');
    expect(f.message).toContain(`127.0.0.1:${port}`);
    expect(f.message).not.toContain('Secret-Pw-42');
    const bad = await failure(openPostgresStore(urlOf('postgres', peer.port, 'Wrong-Pw-43')));
    expect(bad.code).toBe('unavailable');
    expect(bad.message).toMatch(/password authentication failed/);
    expect(bad.message).not.toContain('Wrong-Pw-43');
  });

  it('refuses a malformed store URL without echoing it (the password stays out of the error)', async () => {
    for (const url of ['postgres://u:Secret-Pw-45@[bad/db', 'postgres://u:Secret-Pw-45@127.0.0.1:99999/db', 'mysql://u:Secret-Pw-45@h/db', 'Secret-Pw-45']) {
      let caught: unknown;
      try {
        await openPostgresStore(url);
      } catch (err) {
        caught = err;
      }
      expect(isPortcullisError(caught) && caught.code).toBe('bad-request');
      expect(JSON.stringify(caught, Object.getOwnPropertyNames(caught))).not.toContain('Secret-Pw-45');
    }
  });

  it('gives up within ~10 s on a server that accepts but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => { sockets.push(s); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const f = await failure(openPostgresStore(`postgres://u:Secret-Pw-44@127.0.0.1:${port}/gw`));
      expect(f.code).toBe('unavailable');
      expect(f.message).toContain(`127.0.0.1:${port}`);
      expect(f.message).not.toContain('Secret-Pw-44');
      expect(f.ms).toBeLessThan(10_000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('refuses a schema newer than this build with a clear conflict', async () => {
    const db = await freshDb();
    await (await openPostgresStore(urlOf(db))).close();
    const c = new pg.Client({ connectionString: urlOf(db) });
    await c.connect();
    await c.query('UPDATE schema_version SET version = 99');
    await c.end();
    const f = await failure(openPostgresStore(urlOf(db)));
    expect(f.code).toBe('conflict');
    expect(f.message).toMatch(/the store's schema is version 99, newer than this build's \d+: upgrade portcullis before starting this node/);
  });

  it('migrates once when several nodes start at once, and keeps the audit log append-only', async () => {
    const db = await freshDb();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(urlOf(db), { poolSize: 2 })));
    try {
      const c = new pg.Client({ connectionString: urlOf(db) });
      await c.connect();
      try {
        expect((await c.query('SELECT version FROM schema_version')).rows).toHaveLength(1);
        await stores[0]!.audit.append(() => ({ seq: 1, ts: 1, code: 'x', actor: 'a', data: '{}', prevHash: '0'.repeat(64), hash: 'h' }));
        await expect(c.query("UPDATE audit SET code='y'")).rejects.toThrow(/append-only/);
        await expect(c.query('DELETE FROM audit')).rejects.toThrow(/append-only/);
        await expect(c.query('TRUNCATE audit')).rejects.toThrow(/append-only/);
        expect(await stores[1]!.audit.last()).toMatchObject({ seq: 1, code: 'x' });
      } finally {
        await c.end();
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('waits for a running transaction on close', async () => {
    const s = await openPostgresStore(urlOf(await freshDb()));
    const u = aUser();
    let release = (): void => undefined;
    const held = new Promise<void>((r) => { release = r; });
    const tx = s.transaction(async () => { await s.users.insert(u); await held; });
    await new Promise((r) => setTimeout(r, 50));
    let closed = false;
    const closing = s.close().then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    release();
    await tx;
    await closing;
    const c = new pg.Client({ connectionString: urlOf(`faults_${dbs}`) });
    await c.connect();
    expect((await c.query('SELECT id FROM users')).rows).toEqual([{ id: u.id }]);
    await c.end();
  });

  it('rejects calls clearly while the server is down, never crashes, and works again once it is back', async () => {
    const errors: Error[] = [];
    const s: Store = await openPostgresStore(urlOf(await freshDb()), { onError: (e) => errors.push(e) });
    const got: string[] = [];
    const states: boolean[] = [];
    const stop = await s.notifications.listen((p) => got.push(p), (up) => states.push(up));
    try {
      await s.users.insert(aUser());
      await s.notifications.publish('before');
      await eventually('the first message', () => (got.includes('before') ? Promise.resolve() : Promise.reject(new Error('not yet'))));

      // A transaction open when the server goes: its connection drops while fn awaits something else.
      let release = (): void => undefined;
      const held = new Promise<void>((r) => { release = r; });
      const open = s.transaction(async () => { await s.users.list(); await held; return s.users.list(); });
      await new Promise((r) => setTimeout(r, 100));

      await peer.stopFast();
      try {
        release();
        expect((await failure(open)).code).toBe('unavailable');
        const calls: Array<() => Promise<unknown>> = [() => s.users.list(), () => s.users.insert(aUser()), () => s.transaction(() => s.users.list()),
          () => s.notifications.publish('lost'), () => s.audit.append(() => ({ seq: 1, ts: 1, code: 'x', actor: 'a', data: '{}', prevHash: '0', hash: 'h' }))];
        for (const call of calls) {
          const f = await failure(call());
          expect(f.code).toBe('unavailable');
          expect(f.message).toContain(`127.0.0.1:${peer.port}`);
          expect(f.message).not.toContain(peer.password);
        }
        await eventually('the listener to report the loss', () => (states.includes(false) ? Promise.resolve() : Promise.reject(new Error('not yet'))));
      } finally {
        await peer.start();
      }

      const u = aUser();
      await eventually('the store to work again', () => s.users.insert(u));
      expect(await s.users.byId(u.id)).toEqual(u);
      await s.transaction(async () => { await s.users.update({ ...u, roles: ['back'] }); });
      expect((await s.users.byId(u.id))?.roles).toEqual(['back']);
      await eventually('the listener to listen again', () => (states.at(-1) === true ? Promise.resolve() : Promise.reject(new Error('not yet'))));
      expect(states).toEqual([true, false, true]);
      await s.notifications.publish('after');
      await eventually('a message after the restart', () => (got.includes('after') ? Promise.resolve() : Promise.reject(new Error('not yet'))), 5_000);
    } finally {
      await stop();
      await s.close();
    }
  });

  it('finds a server gone silent (a partition): calls time out as unavailable, the listener reports it, and both work again once it answers', async () => {
    const db = await freshDb();
    const direct = await openPostgresStore(urlOf(db));
    const relay = await freezableRelay(peer.port);
    const viaRelay = await openPostgresStore(urlOf(db, relay.port), { listenerPingMs: 300, connectTimeoutMs: 1_000, queryTimeoutMs: 1_000 });
    const got: string[] = [];
    const states: boolean[] = [];
    const stop = await viaRelay.notifications.listen((p) => got.push(p), (up) => states.push(up));
    const until = (what: string, check: () => boolean, ms = 8_000): Promise<void> =>
      eventually(what, () => (check() ? Promise.resolve() : Promise.reject(new Error('not yet'))), ms);
    try {
      await direct.notifications.publish('a');
      await until('the first message', () => got.includes('a'));
      relay.freeze();
      const frozenAt = Date.now();
      await until('the listener to report the silence', () => states.includes(false));
      expect(Date.now() - frozenAt).toBeLessThan(3_000);
      // Calls do not hang on the silent server either.
      for (const call of [() => viaRelay.users.list(), () => viaRelay.transaction(() => viaRelay.users.list())]) {
        const f = await failure(call());
        expect(f.code).toBe('unavailable');
        expect(f.ms).toBeLessThan(3_000);
      }
      relay.thaw();
      await eventually('calls to work again', () => viaRelay.users.list());
      await until('the listener to listen again', () => states.at(-1) === true);
      expect(states).toEqual([true, false, true]);
      await direct.notifications.publish('c');
      await until('a message after the silence', () => got.includes('c'));
    } finally {
      await stop();
      relay.close();
      await viaRelay.close();
      await direct.close();
    }
  });
});
