// Several real gateway nodes on one shared PostgreSQL, for cluster e2e tests, `npm run demo:ha` and
// bench/cluster.ts (DESIGN.md 3c):
//   - a throwaway PostgreSQL 15 (postgres.ts) with a `portcullis` role and database: the store;
//   - `portcullis init` for n1 (schema, CA, admin token, master key), then n2, n3... join: their
//     data dirs get a copy of n1's master.key before their own `init`;
//   - `portcullis serve --node nN` from dist/ for each, on loopback ports the kernel picks (kept
//     across restart(), so a balancer's backends stay right), all with ONE recordings dir;
//   - optionally HAProxy in TCP mode in front of their HTTPS, SSH, PostgreSQL and MySQL ports
//     (haproxy.ts: /healthz checked every 250 ms, a dead node out within about half a second).
// The store URL (it holds the database password) reaches init and serve as PORTCULLIS_STORE in
// their environment, never as a process argument (--store would show it in ps).
//
//   const c = await startCluster({ haproxy: true });
//   c.node('n1').admin(['grant', 'add', ...]);      // any node answers for the whole cluster
//   await c.node('n2').crash();                     // kill -9: no leave, its sessions become node-lost
//   c.lb!.ports.ssh; await c.lb!.route(['n3']);     // steer new connections to n3 only
//   await c.stop();
// Every wait is bounded; a node that exits while being waited for fails with its log.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startProc, tempDir, waitFor, type Proc } from './common.js';
import { BIN, cli, type CliResult, type GatewayPeer } from './gateway.js';
import { type Haproxy, type HaproxyOptions, type ListenerPorts, startHaproxy } from './haproxy.js';
import { type PostgresPeer, startPostgres } from './postgres.js';

export const STORE_DATABASE = 'portcullis';
export const STORE_ROLE = 'portcullis';
const STORE_PASSWORD = 'Store-Role-Password-7';

/** One node: a GatewayPeer (the single-gateway helpers work on it) with a name and a liveness check. */
export interface ClusterNode extends GatewayPeer {
  name: string;
  /** Whether its serve process is running. */
  alive(): boolean;
  /**
   * Starts serve again after crash() or halt(), on the same ports. After a crash the new process
   * takes over its dead predecessor at once (membership.ts, node-run.json in the data dir); should
   * the name still be refused, it retries (bounded) until the cluster has marked the old one lost.
   */
  restart(): Promise<void>;
  /** As halt(): the data dir is removed by Cluster.stop(). */
  stop(): Promise<void>;
}

export interface ClusterStore {
  /** postgres://portcullis:...@127.0.0.1:PORT/portcullis (holds the password: keep it out of logs). */
  url: string;
  /** The PostgreSQL server itself (stopFast()/start() for store-down tests). */
  pg: PostgresPeer;
  /** SQL as the superuser in the store database (what someone who can write the database can do). */
  sql(query: string): string;
}

export interface Cluster {
  store: ClusterStore;
  nodes: ClusterNode[];
  /** A node by name ('n1'...) or index (0...); throws for one that does not exist. */
  node(which: string | number): ClusterNode;
  /** The one recordings dir every node writes (PORTCULLIS_RECORDINGS_DIR). */
  recordingsDir: string;
  /** The cluster's CA certificate (n1's copy; every node's listener certificate chains to it). */
  caFile: string;
  /** HAProxy in front of the nodes, when asked for. */
  lb: Haproxy | null;
  /** The environment every node is started with (without the per-node name and ports). */
  env: NodeJS.ProcessEnv;
  /** Adds a node (joins the store, starts serving); it is not added to a running balancer. */
  addNode(name?: string): Promise<ClusterNode>;
  /** Stops the balancer, every node (SIGTERM), the store, and removes every temp dir. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Number of nodes (default 3), named n1, n2, ... */
  nodes?: number;
  /** HAProxy in front (default none). */
  haproxy?: boolean | HaproxyOptions;
  /** Extra environment for every node (PORTCULLIS_* settings). Log level debug unless set here. */
  env?: NodeJS.ProcessEnv;
  /** Extra environment for one node. */
  nodeEnv?: (name: string) => NodeJS.ProcessEnv;
  /** Each node's whole log is appended to <logDir>/<name>.log too. */
  logDir?: string;
  /** max_connections of the store's PostgreSQL (default 200). */
  storeMaxConnections?: number;
  /** Bound on each node's start (ms, default 60 s). */
  startTimeoutMs?: number;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const pg = await startPostgres({ maxConnections: opts.storeMaxConnections ?? 200 });
  const dir = tempDir('cluster');
  const nodes: ClusterNode[] = [];
  let lb: Haproxy | null = null;
  const stopAll = async (): Promise<void> => {
    await lb?.stop();
    await Promise.all(nodes.map((n) => n.halt()));
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(pg.dir, { recursive: true, force: true });
  };
  try {
    pg.sql(`CREATE ROLE ${STORE_ROLE} LOGIN PASSWORD '${STORE_PASSWORD}'`);
    pg.sql(`CREATE DATABASE ${STORE_DATABASE} OWNER ${STORE_ROLE}`);
    const url = `postgres://${STORE_ROLE}:${STORE_PASSWORD}@127.0.0.1:${pg.port}/${STORE_DATABASE}`;
    const recordingsDir = join(dir, 'recordings');
    mkdirSync(recordingsDir, { recursive: true, mode: 0o700 });
    const env: NodeJS.ProcessEnv = {
      ...opts.env, PORTCULLIS_STORE: url, PORTCULLIS_RECORDINGS_DIR: recordingsDir, PORTCULLIS_DATA: '',
      PORTCULLIS_LOG_LEVEL: opts.env?.PORTCULLIS_LOG_LEVEL ?? 'debug',
    };
    const ctx: NodeContext = { dir, env, nodeEnv: opts.nodeEnv, logDir: opts.logDir, startTimeoutMs: opts.startTimeoutMs ?? 60_000, first: null };
    const count = opts.nodes ?? 3;
    if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error('startCluster: nodes must be 1..9');
    // n1 creates the schema, the CA and the admin token; the others join it, one at a time (two
    // inits racing to create one schema is a test of its own, not the harness's job).
    const first = initNode(ctx, 'n1');
    ctx.first = first;
    const others: NodeDir[] = [];
    for (let i = 2; i <= count; i++) others.push(initNode(ctx, `n${i}`));
    nodes.push(...await Promise.all([first, ...others].map((d) => serveNode(ctx, d))));
    if (opts.haproxy) {
      lb = await startHaproxy(nodes.map((n) => ({ name: n.name, ports: n.ports })), opts.haproxy === true ? {} : opts.haproxy);
      const balancer = lb;
      await Promise.all(nodes.map((n) => balancer.waitFor(n.name, 'UP')));
    }
    const cluster: Cluster = {
      store: { url, pg, sql: (q) => pg.sql(q, STORE_DATABASE) },
      nodes, recordingsDir, caFile: join(first.dataDir, 'certs/ca.crt'), lb, env,
      node: (which) => {
        const n = typeof which === 'number' ? nodes[which] : nodes.find((x) => x.name === which);
        if (!n) throw new Error(`no node ${String(which)} (have ${nodes.map((x) => x.name).join(', ')})`);
        return n;
      },
      addNode: async (name) => {
        const n = await serveNode(ctx, initNode(ctx, name ?? `n${nodes.length + 1}`));
        nodes.push(n);
        return n;
      },
      stop: stopAll,
    };
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

interface NodeContext {
  dir: string;
  env: NodeJS.ProcessEnv;
  nodeEnv: ((name: string) => NodeJS.ProcessEnv) | undefined;
  logDir: string | undefined;
  startTimeoutMs: number;
  first: NodeDir | null;
}

interface NodeDir {
  name: string;
  dataDir: string;
  homes: string;
  env: NodeJS.ProcessEnv;
}

const must = (what: string, r: CliResult): void => {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr || r.stdout}`);
};

function initNode(ctx: NodeContext, name: string): NodeDir {
  const root = join(ctx.dir, name);
  const dataDir = join(root, 'data');
  const homes = join(root, 'homes');
  const env: NodeJS.ProcessEnv = { ...ctx.env, ...ctx.nodeEnv?.(name), PORTCULLIS_NODE: name, PORTCULLIS_HOME: join(homes, '_admin') };
  if (ctx.first) {
    // Joining: the same master key as the first node, copied in before init (DESIGN.md 3c).
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    copyFileSync(join(ctx.first.dataDir, 'master.key'), join(dataDir, 'master.key'));
  }
  must(`portcullis init of ${name}`, cli(['init', '--data', dataDir], { env }));
  return { name, dataDir, homes, env };
}

async function serveNode(ctx: NodeContext, d: NodeDir): Promise<ClusterNode> {
  const info = join(d.dataDir, 'serve.json');
  const logFile = ctx.logDir ? join(ctx.logDir, `${d.name}.log`) : undefined;
  // Port 0 the first time (the kernel picks, no race with other test workers); the same ports on a
  // restart, so a balancer's backends still point at the node.
  let bound: ListenerPorts = { https: 0, ssh: 0, postgres: 0, mysql: 0 };
  const serve = async (): Promise<Proc> => {
    rmSync(info, { force: true });
    const env = {
      ...process.env, ...d.env, PORTCULLIS_HTTP_PORT: String(bound.https), PORTCULLIS_SSH_PORT: String(bound.ssh),
      PORTCULLIS_POSTGRES_PORT: String(bound.postgres), PORTCULLIS_MYSQL_PORT: String(bound.mysql),
    };
    const proc = startProc(process.execPath, [BIN, 'serve', '--data', d.dataDir, '--node', d.name], { env, logFile });
    await waitFor(`portcullis serve ${d.name}`, () => existsSync(info), ctx.startTimeoutMs, proc);
    const served = JSON.parse(readFileSync(info, 'utf8')) as { url: string; ports: Partial<ListenerPorts> };
    bound = { https: served.ports.https ?? 0, ssh: served.ports.ssh ?? 0, postgres: served.ports.postgres ?? 0, mysql: served.ports.mysql ?? 0 };
    node.url = served.url;
    node.pid = proc.child.pid ?? 0;
    Object.assign(node.ports, bound);
    return proc;
  };
  const running = (p: Proc): boolean => p.child.exitCode === null && p.child.signalCode === null;
  const userEnv = (user: string): NodeJS.ProcessEnv => ({ ...d.env, PORTCULLIS_HOME: join(d.homes, user), PORTCULLIS_DATA: d.dataDir });
  const node: ClusterNode = {
    name: d.name, dataDir: d.dataDir, url: '', pid: 0, caFile: join(d.dataDir, 'certs/ca.crt'), ports: { ...bound },
    alive: () => running(proc),
    log: () => proc.output(),
    admin: (args, stdin) => cli([...args, '--data', d.dataDir], { env: d.env, stdin }),
    as: (user, args, stdin) => cli(args, { env: userEnv(user), stdin }),
    login: (user, password, totp) => cli(['login', '--user', user, '--password-stdin'], { env: userEnv(user), stdin: `${password}\n${totp ?? ''}\n` }),
    crash: () => new Promise((resolve) => {
      if (!running(proc)) return resolve();
      proc.child.once('exit', () => resolve());
      proc.child.kill('SIGKILL');
    }),
    halt: () => proc.stop(),
    restart: async () => {
      await proc.stop();
      // After a crash the store still holds the node's last heartbeat, and a name held by a live
      // node is refused: retry until the cluster has marked it lost (cluster.nodeLostAfter, 6 s).
      const until = Date.now() + ctx.startTimeoutMs;
      for (;;) {
        try {
          proc = await serve();
          return;
        } catch (err) {
          if (!/is already running/.test(String(err)) || Date.now() > until) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    stop: () => proc.stop(),
  };
  let proc = await serve();
  return node;
}
