// What the PostgreSQL benchmarks share: a PostgreSQL with a `bench` database owned by `app`, and a
// gateway whose user `dba` holds a grant to it as target `bench-db` (plaintext behind, as the
// reference proxies' upstream leg).
import { startGateway, type GatewayPeer } from '../../test/harness/gateway.js';
import { startPostgres, type PostgresPeer } from '../../test/harness/postgres.js';

export const BENCH_PASSWORD = 'bench-App-Password-1';

export async function pgBenchDb(): Promise<{ pg: PostgresPeer; gw: GatewayPeer }> {
  const pg = await startPostgres();
  pg.sql(`CREATE ROLE app LOGIN PASSWORD '${BENCH_PASSWORD}'`);
  pg.sql('CREATE DATABASE bench OWNER app');
  const gw = await startGateway({ env: { PORTCULLIS_LOG_LEVEL: 'warn' } });
  gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${BENCH_PASSWORD}\n`);
  gw.admin(['target', 'add', 'bench-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app', '--database', 'bench',
    '--tls', 'disable', '--password-stdin'], `${BENCH_PASSWORD}\n`);
  gw.admin(['grant', 'add', '--user', 'dba', '--target', 'bench-db', '--for', '8h', '--reason', 'bench']);
  return { pg, gw };
}
