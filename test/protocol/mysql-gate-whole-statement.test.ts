// The MySQL side of the gate over real loopback sockets (the test plays client and target): with
// gate rules configured, a statement is checked whole — one padded past 64 KB, or big enough to be
// streamed (over 1 MiB, in many reads), cannot carry a refused command past the rules — and
// allowed big statements still reach the target byte-exact.
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSocketPairs, socketPair } from '../support/socket-pair.js';
import { MyRelay } from '../../gateway/mysql/relay.js';
import { MyStatementLog } from '../../gateway/mysql/statement-log.js';
import { framePayload } from '../../gateway/mysql/wire/client-commands.js';
import { createLogger } from '../../gateway/log/logger.js';
import type { GateCommand, GateVerdict } from '../../gateway/session/gate.js';

const deny = (cmd: GateCommand): GateVerdict =>
  cmd.kind === 'sql' && /drop table/i.test(cmd.text) ? { verdict: 'deny', message: 'DROP is not allowed here', rule: 'test' } : { verdict: 'allow' };

afterEach(closeSocketPairs);

function query(sql: string): Buffer {
  return Buffer.concat(framePayload(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)])));
}

async function relay(): Promise<{ client: Socket; toTarget: () => Buffer; toClient: () => Buffer }> {
  const [client, gatewayClient] = await socketPair();
  const [gatewayUpstream, target] = await socketPair();
  const log = new MyStatementLog(() => 0, () => 0, () => {});
  const r = new MyRelay(gatewayClient, gatewayUpstream, log, 64 * 1024 * 1024, {
    killTarget: () => null, clientClosed: () => {}, upstreamClosed: () => {}, protocolError: (side, detail) => { throw new Error(`${side}: ${detail}`); },
  }, createLogger('silent'), { activity: () => {}, check: deny, gatePassThrough: false, guard: (fn) => fn },
    // statements.maxBytes raised to the packet limit: these tests send statements over 16 MiB.
    64 * 1024 * 1024);
  r.start(Buffer.alloc(0), Buffer.alloc(0));
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  target.on('data', (d: Buffer) => up.push(d));
  client.on('data', (d: Buffer) => down.push(d));
  return { client, toTarget: () => Buffer.concat(up), toClient: () => Buffer.concat(down) };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}

async function writeInPieces(s: Socket, b: Buffer, piece: number): Promise<void> {
  for (let i = 0; i < b.length; i += piece) {
    if (!s.write(b.subarray(i, i + piece))) await once(s, 'drain');
  }
}

describe('the MySQL gate on big statements', () => {
  it('sees the end of a statement padded past 64 KB', async () => {
    const { client, toTarget, toClient } = await relay();
    client.write(query(`select 1; /*${' '.repeat(70_000)}*/ drop table orders`));
    await until(() => toClient().length > 0);
    expect(toClient().toString('latin1')).toContain('Portcullis: DROP is not allowed here');
    expect(toTarget().length).toBe(0);
  });

  it('sees the end of a statement big enough to stream (over 1 MiB, many reads), and still forwards allowed ones byte-exact', async () => {
    const { client, toTarget, toClient } = await relay();
    const denied = query(`select 1; /*${'x'.repeat(2 * 1024 * 1024)}*/ drop table orders`);
    await writeInPieces(client, denied, 16 * 1024);
    await until(() => toClient().length > 0);
    expect(toClient().toString('latin1')).toContain('Portcullis: DROP is not allowed here');
    const allowed = query(`insert into t values ('${'y'.repeat(3 * 1024 * 1024)}')`);
    await writeInPieces(client, allowed, 16 * 1024);
    await until(() => toTarget().length >= allowed.length);
    expect(toTarget().equals(allowed)).toBe(true);
  });

  it('sees the end of a statement continued over several 16 MiB packets', async () => {
    const { client, toTarget, toClient } = await relay();
    await writeInPieces(client, query(`select 1; /*${'x'.repeat(17 * 1024 * 1024)}*/ drop table orders`), 256 * 1024);
    await until(() => toClient().length > 0);
    expect(toClient().toString('latin1')).toContain('Portcullis: DROP is not allowed here');
    expect(toTarget().length).toBe(0);
  }, 60_000);
});
