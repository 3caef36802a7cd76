// npm run demo:ha: several nodes on one shared PostgreSQL, HAProxy in front (DESIGN.md 3c). A
// throwaway PostgreSQL as the store, three `portcullis serve` nodes with one shared recordings dir,
// HAProxy (TCP mode) in front of their SSH, PostgreSQL, MySQL and HTTPS ports, the demo targets of
// `npm run demo`, and the lines to try, including killing a node. A node that dies is started
// again after DEMO_HA_RESTART_AFTER seconds (default 30; 0 = leave it down). Ctrl-C stops
// everything and removes the temp dirs. Needs root (the harness's peers run as their own OS users).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Cluster, type ClusterNode, startCluster } from '../test/harness/cluster.js';
import { tempDir } from '../test/harness/common.js';
import { addDemoAccess, DEMO_PASSWORD, startDemoTargets } from './demo-targets.js';

const restartAfterS = Number(process.env.DEMO_HA_RESTART_AFTER ?? 30);
if (!Number.isFinite(restartAfterS) || restartAfterS < 0) throw new Error('DEMO_HA_RESTART_AFTER must be a number of seconds (0 = never restart)');

const logDir = tempDir('demo-ha-logs');
const targets = await startDemoTargets();
let cluster: Cluster;
try {
  cluster = await startCluster({ haproxy: true, logDir, env: { PORTCULLIS_WARN_BEFORE: '60s', PORTCULLIS_LOG_LEVEL: 'info' } });
} catch (err) {
  await targets.stop();
  throw err;
}
const c = cluster;
const lb = c.lb!;
const n1 = c.node('n1');
addDemoAccess(targets, (args, stdin) => n1.admin(args, stdin));
const cli = 'node bin/portcullis.js';

const nodeLine = (n: ClusterNode): string =>
  `  ${n.name}  pid ${String(n.pid).padEnd(7)} https ${n.ports.https}  ssh ${n.ports.ssh}  postgres ${n.ports.postgres}  mysql ${n.ports.mysql}\n      data ${n.dataDir}   log ${join(logDir, `${n.name}.log`)}`;

process.stdout.write(`
Portcullis several-node demo is running: ${c.nodes.map((n) => n.name).join(', ')} share one PostgreSQL store, HAProxy in front.

Through HAProxy (round robin; a node that stops answering /healthz is out within a second):
  ssh -p ${lb.ports.ssh} -o StrictHostKeyChecking=no demo+web01@127.0.0.1      (password: ${DEMO_PASSWORD})
  psql "host=127.0.0.1 port=${lb.ports.postgres} user=demo+orders-db dbname=orders sslmode=require"   (same password)
  mariadb -h 127.0.0.1 -P ${lb.ports.mysql} -u demo+shop-db -p --ssl                              (same password)
  web console: ${lb.url}/   (the cluster's CA: ${c.caFile})
  HAProxy statistics: ${lb.statsUrl}

The nodes:
${c.nodes.map(nodeLine).join('\n')}
Store: PostgreSQL 15 on 127.0.0.1:${c.store.pg.port}, database "portcullis".   Shared recordings: ${c.recordingsDir}

Any node answers for the whole cluster:
  ${cli} node list --data ${n1.dataDir}
  ${cli} session list --data ${c.node('n2').dataDir}
  ${cli} grant list --data ${c.node('n3').dataDir}

Kill a node and watch its sessions end as node-lost:
  1. open two or three ssh or psql sessions above (round robin puts them on different nodes);
     ${cli} session list --data ${n1.dataDir}   shows each live session and its node
  2. kill -9 ${c.node('n2').pid}      (n2; the pids of the others are above)
  3. within 10 s another node ends n2's sessions with reason node-lost and raises an alert:
     ${cli} session list --data ${n1.dataDir}
  4. connect again through HAProxy: a live node lets you in with the same grant.
${restartAfterS > 0 ? `A killed node is started again after ${restartAfterS} s (DEMO_HA_RESTART_AFTER=0 leaves it down).` : 'A killed node stays down (DEMO_HA_RESTART_AFTER=0).'}

Ctrl-C to stop.
`);

// Reports a node that died (and starts it again after a while, on the same ports, so HAProxy
// takes it back).
let stopping = false;
const restarting = new Set<string>();
const watch = setInterval(() => {
  for (const n of c.nodes) {
    if (stopping || n.alive() || restarting.has(n.name)) continue;
    restarting.add(n.name);
    process.stdout.write(`\n[demo:ha] ${n.name} is down; its sessions end as node-lost within 10 s.${restartAfterS > 0 ? ` Starting it again in ${restartAfterS} s.` : ''}\n`);
    if (restartAfterS === 0) continue;
    setTimeout(() => {
      if (stopping) return;
      n.restart().then(
        () => { restarting.delete(n.name); process.stdout.write(`[demo:ha] ${n.name} is back (pid ${n.pid}).\n`); },
        (err: unknown) => { process.stdout.write(`[demo:ha] ${n.name} did not start again: ${err instanceof Error ? err.message.slice(0, 500) : String(err)}\n`); },
      );
    }, restartAfterS * 1000);
  }
}, 1000);

const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  clearInterval(watch);
  process.stdout.write('\n[demo:ha] stopping...\n');
  await Promise.all([c.stop(), targets.stop()]);
  rmSync(logDir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => { void stop(); });
process.once('SIGTERM', () => { void stop(); });
