// Runs the Store contract against the PostgreSQL store on a real PostgreSQL 15 started once for
// this file. The schema is migrated once into a template database; each test gets a fresh copy
// (CREATE DATABASE … TEMPLATE is a file copy: far quicker than migrating again).
import pg from 'pg';
import { afterAll } from 'vitest';
import { openPostgresStore } from '../../gateway/store/postgres/postgres-store.js';
import { startPostgres, type PostgresPeer } from '../harness/postgres.js';
import { describeStoreContract } from './store-contract.js';

let peer: Promise<{ pg: PostgresPeer; admin: pg.Client }> | undefined;
let count = 0;

const urlOf = (p: PostgresPeer, db: string): string =>
  `postgres://${p.superuser}:${encodeURIComponent(p.password)}@127.0.0.1:${p.port}/${db}`;

function server(): Promise<{ pg: PostgresPeer; admin: pg.Client }> {
  peer ??= (async () => {
    const p = await startPostgres();
    const admin = new pg.Client({ connectionString: urlOf(p, 'postgres') });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query('CREATE DATABASE contract_template');
    const s = await openPostgresStore(urlOf(p, 'contract_template'), { poolSize: 2 });
    await s.close();
    return { pg: p, admin };
  })();
  return peer;
}

afterAll(async () => {
  if (!peer) return;
  const { pg: p, admin } = await peer;
  await admin.end();
  await p.stop();
}, 30_000);

describeStoreContract('PostgreSQL', async () => {
  const { pg: p, admin } = await server();
  const db = `contract_${++count}`;
  await admin.query(`CREATE DATABASE ${db} TEMPLATE contract_template STRATEGY FILE_COPY`);
  const url = urlOf(p, db);
  const store = await openPostgresStore(url, { poolSize: 4 });
  return {
    store,
    openAnother: () => openPostgresStore(url, { poolSize: 4 }),
    destroy: async () => {
      await store.close();
      await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
    },
  };
});
