// A standing PostgreSQL + Portcullis + bare relay for profiling by hand (not part of `npm run bench`):
// prints the ports and pids, then waits until killed.
//   node dist/bench/lib/pg-rig.js
import { join } from 'node:path';
import { freePort, portOpen, startProc, tempDir, waitFor } from '../../test/harness/common.js';
import { writeFileSync } from 'node:fs';
import { startGateway } from '../../test/harness/gateway.js';
import { startPostgres } from '../../test/harness/postgres.js';
import { testTls } from '../../test/harness/test-ca.js';
import { spawnSync } from 'node:child_process';

const PASSWORD = 'bench-App-Password-1';
const pg = await startPostgres();
pg.sql(`CREATE ROLE app LOGIN PASSWORD '${PASSWORD}'`);
pg.sql('CREATE DATABASE bench OWNER app');
const gw = await startGateway({ env: { PORTCULLIS_LOG_LEVEL: 'warn' } });
gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`);
gw.admin(['target', 'add', 'bench-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app', '--database', 'bench',
  '--tls', 'disable', '--password-stdin'], `${PASSWORD}\n`);
gw.admin(['grant', 'add', '--user', 'dba', '--target', 'bench-db', '--for', '8h', '--reason', 'bench']);
const dir = tempDir('rig');
const { server } = testTls();
writeFileSync(join(dir, 'c.crt'), server.certPem);
writeFileSync(join(dir, 'c.key'), server.keyPem);
const rport = await freePort();
const relay = startProc(process.execPath, [join(import.meta.dirname, 'bare-relay.js'), String(rport), String(pg.port), '--pg-tls', join(dir, 'c.crt'), join(dir, 'c.key')]);
await waitFor('relay', () => portOpen(rport), 10_000, relay);
spawnSync('/usr/lib/postgresql/15/bin/pgbench', ['-i', '-q', '-s', '10', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'app', 'bench'], { env: { ...process.env, PGPASSWORD: PASSWORD } });
console.log(JSON.stringify({ pg: pg.port, gw: gw.ports.postgres, gwPid: gw.pid, relay: rport, relayPid: relay.child.pid, data: gw.dataDir, password: PASSWORD }));
process.on('SIGTERM', () => { void relay.stop().then(() => Promise.all([gw.stop(), pg.stop()])).then(() => process.exit(0)); });
setInterval(() => {}, 1 << 30);
