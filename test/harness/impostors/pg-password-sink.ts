// An impostor PostgreSQL server for "where does the credential go" tests: it listens where an
// attacker would re-point a target, answers any startup with AuthenticationCleartextPassword (the
// request that makes a naive client send its password in clear), and keeps every byte it is sent
// so a test can say it received nothing usable. It never completes a login.
// SSLRequest is refused ('N') so a client that would go on without TLS does.
import { createServer, type Server } from 'node:net';

export interface PgPasswordSink {
  port: number;
  /** Connections it accepted. */
  connections(): number;
  /** Everything clients sent, concatenated (latin1), for secret scans. */
  received(): string;
  stop(): Promise<void>;
}

const MAX_KEEP = 1 << 20;

export async function startPgPasswordSink(host = '127.0.0.1'): Promise<PgPasswordSink> {
  let connections = 0;
  let received = Buffer.alloc(0);
  const server: Server = createServer((sock) => {
    connections++;
    let pending = Buffer.alloc(0);
    let asked = false;
    sock.on('data', (d: Buffer) => {
      if (received.length < MAX_KEEP) received = Buffer.concat([received, d]);
      pending = Buffer.concat([pending, d]);
      // Startup-phase messages have no type byte: int32 length, int32 code.
      while (!asked && pending.length >= 8) {
        const len = pending.readInt32BE(0);
        if (len < 8 || len > 10_000) { sock.destroy(); return; }
        if (pending.length < len) return;
        const code = pending.readInt32BE(4);
        pending = pending.subarray(len);
        if (code === 80877103) { sock.write('N'); continue; }
        asked = true;
        // AuthenticationCleartextPassword: 'R', length 8, code 3.
        sock.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
      }
    });
    sock.on('error', () => sock.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    connections: () => connections,
    received: () => received.toString('latin1'),
    stop: () => new Promise((resolve) => { server.close(() => resolve()); }),
  };
}
