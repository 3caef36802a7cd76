// The fuzz corpus: valid first flights captured from real clients, per listener. A recording proxy
// sits between a stock client (OpenSSH, psql, mariadb, curl) and the real gateway and keeps what the
// client sent, split into flights where the gateway answered in between (SSLRequest | ClientHello,
// greeting | HandshakeResponse...). HTTP requests and WebSocket upgrades are captured in clear text
// from curl and the `ws` client against a plain capture server, then sent inside TLS by the driver.
// GSSENCRequest and CancelRequest are built by hand (8 and 16 fixed bytes; psql sends GSSENC only
// with a Kerberos ticket, and a cancel only on ^C mid-query).
import { spawn } from 'node:child_process';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { WebSocket } from 'ws';

export type ListenerName = 'ssh' | 'postgres' | 'mysql' | 'https';

export interface Seed {
  name: string;
  /** What the client sent, one entry per flight. */
  flights: Buffer[];
  /** Whether the gateway had spoken before each flight (the driver waits for it, briefly). */
  afterReply: boolean[];
  /** Sent inside a TLS connection the driver sets up (HTTP over HTTPS). */
  inTls: boolean;
}

export type Corpus = Record<ListenerName, Seed[]>;

interface Capture { flights: Buffer[]; afterReply: boolean[] }

/** A TCP proxy to `port` that records each connection's client flights. */
async function recordingProxy(port: number): Promise<{ port: number; captures: Capture[]; close(): Promise<void> }> {
  const captures: Capture[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const cap: Capture = { flights: [], afterReply: [] };
    captures.push(cap);
    // A new flight starts with the first chunk and with each chunk the gateway answered before.
    let spoke = false;
    const up = connect({ port, host: '127.0.0.1' });
    sockets.add(client); sockets.add(up);
    client.on('data', (d: Buffer) => {
      const last = cap.flights.length - 1;
      if (last < 0 || spoke) { cap.flights.push(d); cap.afterReply.push(spoke); }
      else cap.flights[last] = Buffer.concat([cap.flights[last]!, d]);
      spoke = false;
      up.write(d);
    });
    up.on('data', (d: Buffer) => { spoke = true; client.write(d); });
    const end = (): void => { client.destroy(); up.destroy(); };
    client.on('close', end); up.on('close', end);
    client.on('error', end); up.on('error', end);
  });
  return {
    port: await listen(server), captures,
    close: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(() => r())); },
  };
}

/** A plain-text server that records whole requests and answers 404 (HTTP and WS upgrade capture). */
async function captureServer(): Promise<{ port: number; requests: Buffer[]; close(): Promise<void> }> {
  const requests: Buffer[] = [];
  const server = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const len = /content-length:\s*(\d+)/i.exec(buf.subarray(0, head).toString('latin1'));
      if (buf.length < head + 4 + Number(len?.[1] ?? 0)) return;
      requests.push(buf);
      s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  });
  return { port: await listen(server), requests, close: () => new Promise((r) => server.close(() => r())) };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 8000): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => { clearTimeout(t); resolve(); });
    child.on('error', () => { clearTimeout(t); resolve(); });
  });
}

async function through(port: number, name: string, keep: number, run: (port: number) => Promise<void>): Promise<Seed> {
  const proxy = await recordingProxy(port);
  try {
    await run(proxy.port);
  } finally {
    await proxy.close();
  }
  const cap = proxy.captures.find((c) => c.flights.length > 0);
  if (!cap) throw new Error(`fuzz corpus: the client for ${name} sent nothing`);
  return { name, flights: cap.flights.slice(0, keep), afterReply: cap.afterReply.slice(0, keep), inTls: false };
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** Captures the corpus against a running gateway's ports. */
export async function captureCorpus(ports: Record<ListenerName, number>): Promise<Corpus> {
  const ssh = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5',
    '-o', 'PubkeyAuthentication=no', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-o', 'LogLevel=QUIET'];
  const pg = (port: number, mode: string): string => `host=127.0.0.1 port=${port} user=fuzz+orders-db dbname=orders sslmode=${mode} connect_timeout=5`;
  const my = (port: number): string[] => ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'fuzz+shop-db', '-pfuzz', '--connect-timeout=5', '-e', 'select 1'];
  const corpus: Corpus = {
    ssh: [await through(ports.ssh, 'openssh ident+KEXINIT', 2, (p) => runClient('ssh', ['-p', String(p), ...ssh, 'fuzz+web01@127.0.0.1', 'true']))],
    postgres: [
      await through(ports.postgres, 'psql SSLRequest+ClientHello', 2, (p) => runClient('psql', ['-X', pg(p, 'require'), '-c', 'select 1'], { PGPASSWORD: 'fuzz' })),
      await through(ports.postgres, 'psql StartupMessage', 1, (p) => runClient('psql', ['-X', pg(p, 'disable'), '-c', 'select 1'], { PGPASSWORD: 'fuzz' })),
      { name: 'GSSENCRequest', flights: [Buffer.concat([int32(8), int32(80877104)])], afterReply: [false], inTls: false },
      { name: 'CancelRequest', flights: [Buffer.concat([int32(16), int32(80877102), int32(4242), int32(0x5eed)])], afterReply: [false], inTls: false },
    ],
    mysql: [
      await through(ports.mysql, 'mariadb SSLRequest+ClientHello', 2, (p) => runClient('mariadb', [...my(p), '--ssl'])),
      await through(ports.mysql, 'mariadb HandshakeResponse', 1, (p) => runClient('mariadb', [...my(p), '--skip-ssl'])),
    ],
    https: [await through(ports.https, 'curl ClientHello', 1, (p) => runClient('curl', ['-sk', '--max-time', '5', `https://127.0.0.1:${p}/api/v1/whoami`]))],
  };
  const http = await captureServer();
  try {
    const base = `http://127.0.0.1:${http.port}`;
    await runClient('curl', ['-s', '--max-time', '5', '-H', 'Authorization: Bearer pc_fuzz', `${base}/api/v1/sessions?live=1`]);
    await runClient('curl', ['-s', '--max-time', '5', '-X', 'POST', '-H', 'content-type: application/json', '-d', '{"user":"fuzz","password":"fuzz"}', `${base}/api/v1/login`]);
    await runClient('curl', ['-s', '--max-time', '5', `${base}/l/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`]);
    for (const [path, headers] of [
      ['/api/v1/l/terminal', { Origin: `https://127.0.0.1:${ports.https}`, Cookie: 'pc_link=fuzz' }],
      ['/api/v1/sessions/fuzz/live', { Authorization: 'Bearer pc_fuzz' }],
    ] as const) {
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${http.port}${path}`, { headers });
        ws.on('error', () => resolve());
        ws.on('close', () => resolve());
      });
    }
  } finally {
    await http.close();
  }
  if (http.requests.length < 5) throw new Error(`fuzz corpus: captured ${http.requests.length} HTTP requests, expected 5`);
  corpus.https.push(...http.requests.map((r, i) => ({
    name: i < 3 ? `curl HTTP request ${i + 1}` : `ws upgrade ${i - 2}`, flights: [r], afterReply: [false], inTls: true,
  })));
  return corpus;
}
