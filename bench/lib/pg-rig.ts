// A standing PostgreSQL + Portcullis + bare relay for profiling by hand (not part of `npm run bench`):
// prints the ports and pids, then waits until killed.
//   node dist/bench/lib/pg-rig.js
import { join } from 'node:path';
import { freePort, portOpen, startProc, tempDir, waitFor } from '../../test/harness/common.js';
import { writeFileSync } from 'node:fs';
import { BENCH_PASSWORD, pgBenchDb } from './pg-bench-db.js';
import { testTls } from '../../test/harness/test-ca.js';
import { spawnSync } from 'node:child_process';

const PASSWORD = BENCH_PASSWORD;
const { pg, gw } = await pgBenchDb();
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
