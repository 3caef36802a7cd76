// A KILL naming a connection id of another node: the relay asks the cluster (asynchronously) and
// what the client pipelined behind the KILL waits and goes out in order once it is decided; an id
// no node vouches for is refused as an unknown thread. Real loopback sockets; the test plays
// client and target, and the cluster's answer is a delayed function.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSocketPairs, socketPair } from '../support/socket-pair.js';
import { MyRelay } from '../../gateway/mysql/relay.js';
import { MyStatementLog } from '../../gateway/mysql/statement-log.js';
import { framePayload } from '../../gateway/mysql/wire/client-commands.js';
import { createLogger } from '../../gateway/log/logger.js';

afterEach(closeSocketPairs);

const query = (sql: string): Buffer => Buffer.concat(framePayload(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)])));

async function relay(elsewhere: (id: number) => Promise<number | null>): Promise<{ client: Socket; toTarget: () => string; toClient: () => Buffer }> {
  const [client, gatewayClient] = await socketPair();
  const [gatewayUpstream, target] = await socketPair();
  const log = new MyStatementLog(() => 0, () => 0, () => {});
  const r = new MyRelay(gatewayClient, gatewayUpstream, log, 64 * 1024 * 1024, {
    killTarget: (id) => (id === 1001 ? 77 : null), killTargetElsewhere: elsewhere, clientClosed: () => {}, upstreamClosed: () => {},
    protocolError: (side, detail) => { throw new Error(`${side}: ${detail}`); },
  }, createLogger('silent'), { activity: () => {}, check: () => ({ verdict: 'allow' }), gatePassThrough: true, guard: (fn) => fn });
  r.start(Buffer.alloc(0), Buffer.alloc(0));
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  target.on('data', (d: Buffer) => up.push(d));
  client.on('data', (d: Buffer) => down.push(d));
  // Statement texts as the target got them, one per packet, without headers and command bytes.
  const toTarget = (): string => {
    const b = Buffer.concat(up);
    const out: string[] = [];
    for (let off = 0; off + 4 <= b.length;) {
      const len = b.readUIntLE(off, 3);
      out.push(b.toString('utf8', off + 5, off + 4 + len));
      off += 4 + len;
    }
    return out.join(' | ');
  };
  return { client, toTarget, toClient: () => Buffer.concat(down) };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms;) await new Promise((r) => setTimeout(r, 5));
}

describe('a KILL of an id on another node', () => {
  it('maps the id the cluster resolves, and commands pipelined behind it follow in order', async () => {
    const asked: number[] = [];
    const { client, toTarget, toClient } = await relay(async (id) => {
      asked.push(id);
      await new Promise((r) => setTimeout(r, 50));
      return id === 5005 ? 99 : null;
    });
    client.write(Buffer.concat([query('KILL QUERY 5005'), query('SELECT 1'), query('KILL 6006'), query('SELECT 2'), query('KILL 1001')]));
    await until(() => toTarget().includes('KILL 77'));
    expect(toTarget()).toBe('KILL QUERY 99 | SELECT 1 | SELECT 2 | KILL 77');
    expect(asked).toEqual([5005, 6006]);
    // KILL 6006: no node vouches for it, so the client gets "Unknown thread id" and the target nothing.
    expect(toClient().toString('latin1')).toContain('Unknown thread id: 6006');
  });

  it('refuses when the lookup fails', async () => {
    const { client, toTarget, toClient } = await relay(() => Promise.reject(new Error('store down')));
    client.write(Buffer.concat([query('KILL 5005'), query('SELECT 3')]));
    await until(() => toTarget().includes('SELECT 3'));
    expect(toTarget()).toBe('SELECT 3');
    expect(toClient().toString('latin1')).toContain('Unknown thread id: 5005');
  });
});
