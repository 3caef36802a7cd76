// Guardrails benchmark: what SQL rules cost on the statement path. pgbench -S (simple and prepared,
// -c 8 -j 2, client TLS) against the same PostgreSQL directly, through Portcullis with no rules
// (pass-through relay), and through Portcullis with 20 SQL rules (a realistic mix: every class,
// function: rules and three --match rules, deny and flag). Prints TPS, the ratios and the gateway's
// CPU time per transaction (from /proc/<pid>/stat).
//   npm run bench:guardrails        (BENCH_SECONDS=15 by default)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { requireBinary } from '../test/harness/common.js';
import { BENCH_PASSWORD, pgBenchDb } from './lib/pg-bench-db.js';
import { SQL_RULES } from './lib/rules.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const PASSWORD = BENCH_PASSWORD;
const pgbench = requireBinary('postgresql-15', '/usr/lib/postgresql/15/bin/pgbench');

const { pg, gw } = await pgBenchDb();

const base = { ...process.env, PGPASSWORD: PASSWORD, PGSSLMODE: 'require' };
const direct = ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'app'];
const gateway = ['-h', '127.0.0.1', '-p', String(gw.ports.postgres), '-U', 'dba+bench-db'];
const init = spawnSync(pgbench, ['-i', '-q', '-s', '10', ...direct, 'bench'], { env: base, encoding: 'utf8' });
if (init.status !== 0) throw new Error(init.stderr);

/** The gateway's CPU time so far, in µs (utime + stime, clock ticks of 10 ms). */
function gatewayCpuUs(): number {
  const f = readFileSync(`/proc/${gw.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

function run(conn: string[], mode: string): { tps: number; cpuPerTx: number } {
  const cpu0 = gatewayCpuUs();
  const r = spawnSync(pgbench, ['-S', '-M', mode, '-c', '8', '-j', '2', '-T', String(SECONDS), ...conn, 'bench'], { env: base, encoding: 'utf8' });
  const cpu = gatewayCpuUs() - cpu0;
  const m = /tps = ([\d.]+)/.exec(r.stdout);
  const tx = /number of transactions actually processed: (\d+)/.exec(r.stdout);
  if (!m || !tx || !/failed transactions: 0 /.test(r.stdout)) throw new Error(`${mode}: ${r.stdout}${r.stderr}`);
  return { tps: Number(m[1]), cpuPerTx: cpu / Number(tx[1]) };
}

const modes = (process.env.BENCH_MODES ?? 'simple,prepared').split(',');
const results: Record<string, Record<string, { tps: number; cpuPerTx: number }>> = { direct: {}, 'no rules': {}, '20 SQL rules': {} };
for (const mode of modes) {
  results.direct![mode] = run(direct, mode);
  results['no rules']![mode] = run(gateway, mode);
}
SQL_RULES.forEach((r, i) => {
  const a = gw.admin(['rule', 'add', `bench-${i}`, '--kind', 'sql', ...r]);
  if (a.code !== 0) throw new Error(a.stderr);
});
for (const mode of modes) results['20 SQL rules']![mode] = run(gateway, mode);

console.log(`\nPortcullis guardrails benchmark (2 cores, loopback, ${SECONDS}s per run, pgbench -S -c 8 -j 2, scale 10, client TLS)\n`);
console.log('mode'.padEnd(10), 'direct'.padStart(9), 'no rules'.padStart(9), '20 rules'.padStart(9), 'none/dir'.padStart(9), 'rules/dir'.padStart(10),
  'rules/none'.padStart(11), 'cpu µs/tx none'.padStart(15), 'cpu µs/tx rules'.padStart(16));
for (const mode of modes) {
  const d = results.direct![mode]!, n = results['no rules']![mode]!, r = results['20 SQL rules']![mode]!;
  console.log(mode.padEnd(10), d.tps.toFixed(0).padStart(9), n.tps.toFixed(0).padStart(9), r.tps.toFixed(0).padStart(9), (n.tps / d.tps).toFixed(2).padStart(9),
    (r.tps / d.tps).toFixed(2).padStart(10), (r.tps / n.tps).toFixed(2).padStart(11), n.cpuPerTx.toFixed(1).padStart(15), r.cpuPerTx.toFixed(1).padStart(16));
}
await Promise.all([gw.stop(), pg.stop()]);
process.exit(0);
