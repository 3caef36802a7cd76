// Connected TCP socket pairs on loopback for protocol tests that play both peers of a relay over
// real sockets. Every pair (and its listening server) is closed by closeSocketPairs(), which the
// test file calls from afterEach.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

const closers: Array<() => void> = [];

/** [the connecting side, the accepted side], both connected. */
export async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const a = connect(port, '127.0.0.1');
  const [b] = await once(server, 'connection') as [Socket];
  await once(a, 'connect');
  closers.push(() => { a.destroy(); b.destroy(); server.close(); });
  return [a, b];
}

export function closeSocketPairs(): void {
  for (const c of closers.splice(0)) c();
}
