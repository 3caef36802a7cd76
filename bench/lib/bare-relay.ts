// The ceiling: the leanest relay Node itself can be, run as its own process so its CPU can be read
// from /proc. It forwards bytes and nothing else (no framing, no recording, no gate). With `--pg-tls`
// it terminates the PostgreSQL client's TLS (answers SSLRequest with 'S', then relays the decrypted
// stream to a plaintext upstream), as the gateway and PgBouncer do in the TLS-to-TLS runs.
//   node dist/bench/lib/bare-relay.js LISTEN_PORT UPSTREAM_PORT [--pg-tls CERT KEY]
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';

const [listenPort, upstreamPort, mode, certFile, keyFile] = process.argv.slice(2);
if (!listenPort || !upstreamPort) throw new Error('usage: bare-relay LISTEN_PORT UPSTREAM_PORT [--pg-tls CERT KEY]');
const secureContext = mode === '--pg-tls' && certFile && keyFile
  ? createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) }) : null;

function pipeBoth(client: Socket, upstream: Socket): void {
  client.pipe(upstream);
  upstream.pipe(client);
  const end = (): void => { client.destroy(); upstream.destroy(); };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
}

const server = createServer({ noDelay: true }, (raw) => {
  const upstream = connect({ host: '127.0.0.1', port: Number(upstreamPort), noDelay: true });
  if (!secureContext) return pipeBoth(raw, upstream);
  // PostgreSQL TLS: the client's first 8 bytes are SSLRequest; say yes, then speak TLS on the same socket.
  raw.once('readable', function first() {
    const head = raw.read(8) as Buffer | null;
    if (!head) return raw.once('readable', first);
    if (head.readUInt32BE(4) !== 80877103) { upstream.write(head); return pipeBoth(raw, upstream); }
    raw.write('S');
    const tls = new TLSSocket(raw, { isServer: true, secureContext });
    pipeBoth(tls, upstream);
  });
});
server.listen(Number(listenPort), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => process.exit(0));
