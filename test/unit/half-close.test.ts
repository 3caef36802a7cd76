// A peer that keeps its half of a connection open after the gateway ended its own side must not
// hold the gateway's socket (and fd) for ever: destroyAfterOwnEnd closes it after a grace.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { destroyAfterOwnEnd } from '../../gateway/net/half-close.js';

let server: Server | null = null;
const peers: Socket[] = [];
afterEach(() => { for (const p of peers.splice(0)) p.destroy(); server?.close(); server = null; });

async function halfOpenPair(grace: number): Promise<{ gateway: Socket; peer: Socket }> {
  server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  // allowHalfOpen: the peer never answers our FIN with its own, as a hostile client would.
  const peer = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  peers.push(peer);
  const [gateway] = await once(server, 'connection') as [Socket];
  destroyAfterOwnEnd(gateway, grace);
  return { gateway, peer };
}

describe('destroyAfterOwnEnd', () => {
  it('destroys a socket whose peer never closes, once the grace after our end has passed', async () => {
    const { gateway, peer } = await halfOpenPair(100);
    const got: Buffer[] = [];
    peer.on('data', (b: Buffer) => got.push(b));
    const t0 = Date.now();
    gateway.end('bye');
    await once(gateway, 'close');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(Buffer.concat(got).toString()).toBe('bye'); // the last word still went out
  });

  it('leaves a socket alone while the gateway has not ended its side', async () => {
    const { gateway, peer } = await halfOpenPair(50);
    peer.end();
    await once(gateway, 'end');
    await new Promise((r) => setTimeout(r, 150));
    expect(gateway.destroyed).toBe(false);
    gateway.write('still here');
    gateway.destroy();
  });
});
