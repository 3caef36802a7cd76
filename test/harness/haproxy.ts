// A real HAProxy (Debian package `haproxy`) in TCP mode in front of several gateway nodes: one
// frontend per listener (HTTPS, SSH, PostgreSQL, MySQL) on free loopback ports, each node a server
// in every backend. Only the HTTPS server is health-checked (GET /healthz over TLS, every 250 ms,
// down after 2 misses): the other three track it, so a dead node leaves every backend within about
// half a second and the gateways' protocol listeners never see probe connections (which they would
// count as aborted handshakes). The admin socket steers traffic (route) and reports server states.
import { chmodSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, requireBinary, runOk, startProc, tempDir, waitFor, portOpen, type Proc } from './common.js';

export const LISTENERS = ['https', 'ssh', 'postgres', 'mysql'] as const;
export type Listener = (typeof LISTENERS)[number];
export type ListenerPorts = Record<Listener, number>;

export interface HaproxyServer {
  /** The server's name in every backend (the node's name). */
  name: string;
  ports: ListenerPorts;
}

export interface HaproxyOptions {
  /** How new connections are spread: HAProxy's `balance` (default roundrobin). */
  balance?: 'roundrobin' | 'leastconn' | 'first' | 'source';
  /** Health-check interval in ms (default 250; a node is down after two misses). */
  checkIntervalMs?: number;
}

export type ServerState = 'UP' | 'DOWN' | 'MAINT' | 'other';

export interface Haproxy {
  /** The balancer's ports: clients connect here. */
  ports: ListenerPorts;
  /** https://127.0.0.1:<port> through the balancer. */
  url: string;
  /** HAProxy's own statistics page (HTTP, loopback). */
  statsUrl: string;
  pid: number;
  /**
   * Sends new connections only to these nodes (the others are put in maintenance in every
   * backend; their live connections stay). route('all') undoes it.
   */
  route(only: string[] | 'all'): Promise<void>;
  /** Each server's state per backend, e.g. { 'ssh/n2': 'DOWN' }. */
  states(): Promise<Record<string, ServerState>>;
  /** Waits (bounded) until the node's HTTPS server has this state. */
  waitFor(node: string, state: ServerState, timeoutMs?: number): Promise<void>;
  /** One admin-socket command, its answer as text. */
  command(cmd: string): Promise<string>;
  log(): string;
  stop(): Promise<void>;
}

export async function startHaproxy(servers: HaproxyServer[], opts: HaproxyOptions = {}): Promise<Haproxy> {
  const bin = requireBinary('haproxy', 'haproxy', '/usr/sbin/haproxy');
  if (servers.length === 0) throw new Error('startHaproxy: no servers');
  const dir = tempDir('haproxy');
  chmodSync(dir, 0o700);
  const socket = join(dir, 'admin.sock');
  const cfgFile = join(dir, 'haproxy.cfg');
  const inter = opts.checkIntervalMs ?? 250;
  // Another test worker can take a port between freePort() and HAProxy's bind: retry that, at most
  // three times in all.
  for (let attempt = 1; ; attempt++) {
    const ports: ListenerPorts = { https: await freePort(), ssh: await freePort(), postgres: await freePort(), mysql: await freePort() };
    const statsPort = await freePort();
    writeFileSync(cfgFile, config(servers, ports, statsPort, socket, opts.balance ?? 'roundrobin', inter), { mode: 0o600 });
    // A bad configuration is a clear error, not a timeout.
    runOk(bin, ['-c', '-q', '-f', cfgFile]);
    const proc = startProc(bin, ['-db', '-f', cfgFile]);
    try {
      await waitFor('haproxy to listen', async () => (await Promise.all(LISTENERS.map((l) => portOpen(ports[l])))).every(Boolean), 10_000, proc);
      return handle(proc, ports, statsPort, socket, inter);
    } catch (err) {
      await proc.stop();
      if (!/address already in use|cannot bind/i.test(String(err)) || attempt >= 3) throw err;
    }
  }
}

function config(servers: HaproxyServer[], ports: ListenerPorts, statsPort: number, socket: string, balance: string, inter: number): string {
  const lines = [
    'global',
    // Two descriptors per connection must fit under the usual 20,000 open-file limit.
    '  maxconn 8000',
    `  stats socket ${socket} mode 600 level admin`,
    'defaults',
    '  mode tcp',
    `  balance ${balance}`,
    '  timeout connect 2s',
    // Sessions sit idle for long stretches (a psql prompt): the gateway decides when they end.
    '  timeout client 24h',
    '  timeout server 24h',
    '  timeout check 1s',
    // A connection sent to a node that just died goes to another one instead.
    '  retries 2',
    '  option redispatch',
    `  default-server inter ${inter}ms fastinter ${inter}ms downinter ${inter}ms rise 2 fall 2`,
    'listen stats',
    '  mode http',
    `  bind 127.0.0.1:${statsPort}`,
    '  stats enable',
    '  stats uri /',
    '  stats refresh 1s',
  ];
  for (const l of LISTENERS) {
    lines.push(`frontend fe_${l}`, `  bind 127.0.0.1:${ports[l]}`, `  default_backend ${l}`, `backend ${l}`);
    if (l === 'https') lines.push('  option httpchk GET /healthz', '  http-check expect status 200');
    for (const s of servers) {
      const check = l === 'https' ? 'check check-ssl verify none' : `track https/${s.name}`;
      lines.push(`  server ${s.name} 127.0.0.1:${s.ports[l]} ${check}`);
    }
  }
  return lines.join('\n') + '\n';
}

function handle(proc: Proc, ports: ListenerPorts, statsPort: number, socket: string, inter: number): Haproxy {
  const command = (cmd: string): Promise<string> => new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`haproxy admin socket: no answer to "${cmd}"`)); }, 5000);
    s.on('data', (d: Buffer) => { out += d.toString(); });
    s.on('error', (err) => { clearTimeout(t); reject(err); });
    s.on('close', () => { clearTimeout(t); resolve(out); });
    s.end(cmd + '\n');
  });
  const states = async (): Promise<Record<string, ServerState>> => {
    // `show stat` is CSV: pxname,svname,...; the status column is named in the header.
    const csv = (await command('show stat')).split('\n').filter(Boolean);
    const header = (csv[0] ?? '').replace(/^# /, '').split(',');
    const col = header.indexOf('status');
    const out: Record<string, ServerState> = {};
    for (const row of csv.slice(1)) {
      const f = row.split(',');
      const [px, sv] = [f[0] ?? '', f[1] ?? ''];
      if (!(LISTENERS as readonly string[]).includes(px) || sv === 'BACKEND' || sv === 'FRONTEND') continue;
      const st = f[col] ?? '';
      out[`${px}/${sv}`] = st.startsWith('UP') ? 'UP' : st.startsWith('DOWN') ? 'DOWN' : st.startsWith('MAINT') ? 'MAINT' : 'other';
    }
    return out;
  };
  const servers = async (): Promise<string[]> => Object.keys(await states()).filter((k) => k.startsWith('https/')).map((k) => k.slice('https/'.length));
  return {
    ports, url: `https://127.0.0.1:${ports.https}`, statsUrl: `http://127.0.0.1:${statsPort}/`, pid: proc.child.pid ?? 0,
    command, states,
    route: async (only) => {
      const names = await servers();
      for (const n of only === 'all' ? [] : only) if (!names.includes(n)) throw new Error(`haproxy route: no server ${n} (have ${names.join(', ')})`);
      const cmds = LISTENERS.flatMap((l) => names.map((n) => `set server ${l}/${n} state ${only === 'all' || only.includes(n) ? 'ready' : 'maint'}`));
      const answer = await command(cmds.join(';'));
      if (answer.trim() !== '') throw new Error(`haproxy route: ${answer.trim()}`);
    },
    waitFor: (node, state, timeoutMs = 10 * inter + 5000) =>
      waitFor(`haproxy to see ${node} ${state}`, async () => (await states())[`https/${node}`] === state, timeoutMs),
    log: () => proc.output(),
    stop: () => proc.stop(),
  };
}
