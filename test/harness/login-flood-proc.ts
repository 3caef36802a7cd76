// A bogus-login flood in a process of its own, so its TLS work does not slow whoever measures
// (a test or a benchmark). Sends MySQL caching_sha2 logins (raw, mysql-bogus-login.ts) and
// optionally PostgreSQL SCRAM logins (node-postgres) at a rate, from one address or rotating over
// loopback addresses, until it is sent SIGTERM or its time is up; prints one JSON line of counts.
//   node dist/test/harness/login-flood-proc.js '{"mysqlPort":N,"rate":500,"seconds":10}'
import { Socket } from 'node:net';
import pg from 'pg';
import { floodMysqlLogins } from './mysql-bogus-login.js';

export interface FloodSpec {
  host?: string;
  mysqlPort: number;
  /** MySQL logins per second. */
  rate: number;
  seconds: number;
  /** 0: every login from 127.0.0.1; N: rotate over N loopback addresses from 127.0.1.2 on. */
  sources?: number;
  pgPort?: number;
  pgRate?: number;
}

export interface FloodResult {
  sent: number;
  skipped: number;
  outcomes: Record<string, number>;
  refusals: Record<string, number>;
  pgSent: number;
  pgAccepted: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as FloodSpec;
const host = spec.host ?? '127.0.0.1';
// Loopback addresses 127.0.1.2 onwards (Linux answers on all of 127/8).
const source = (i: number): string => `127.0.${1 + (Math.floor(i / 250) % 200)}.${2 + (i % 250)}`;
const addrOf = (i: number): string | undefined => (spec.sources ? source(i % spec.sources) : undefined);

let stop!: () => void;
const stopped = new Promise<void>((r) => { stop = r; });
process.on('SIGTERM', () => stop());
setTimeout(() => stop(), spec.seconds * 1000).unref();

async function pgLogin(i: number): Promise<boolean> {
  const localAddress = addrOf(i);
  const client = new pg.Client({
    host, port: spec.pgPort, user: `ghost${i}+db`, password: 'Flood-Guess-pg', database: 'x', ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 15_000,
    ...(localAddress ? {
      stream: () => {
        const s = new Socket();
        const connect = s.connect.bind(s) as (o: { port: number; host: string; localAddress: string }) => Socket;
        (s as unknown as { connect: (p: number, h: string) => Socket }).connect = (p: number, h: string) => connect({ port: p, host: h, localAddress });
        return s;
      },
    } : {}),
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function pgFlood(): Promise<{ sent: number; accepted: number }> {
  if (!spec.pgPort || !spec.pgRate) return { sent: 0, accepted: 0 };
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let accepted = 0;
  let done = false;
  void stopped.then(() => { done = true; });
  const t0 = performance.now();
  while (!done) {
    const due = Math.floor(((performance.now() - t0) / 1000) * spec.pgRate);
    while (sent < due && pending.size < 500) {
      const p = pgLogin(sent++).then((ok) => { if (ok) accepted++; pending.delete(p); });
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
  return { sent, accepted };
}

const [my, pgr] = await Promise.all([
  floodMysqlLogins({
    host, port: spec.mysqlPort, perSecond: spec.rate, password: 'Flood-Guess-my', stop: stopped,
    user: (i) => `nobody${i}+db`, source: addrOf, maxInFlight: 1000,
  }),
  pgFlood(),
]);
const result: FloodResult = {
  sent: my.sent, skipped: my.skipped, outcomes: Object.fromEntries(my.outcomes), refusals: Object.fromEntries([...my.refusals].map(([k, v]) => [String(k), v])),
  pgSent: pgr.sent, pgAccepted: pgr.accepted,
};
process.stdout.write(JSON.stringify(result) + '\n');
