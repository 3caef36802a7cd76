// The MySQL side of the gate, over loopback sockets standing in for the two legs: with gate rules
// configured, a denied COM_QUERY / COM_STMT_PREPARE never reaches the target and the client gets
// error 1142 (42000) with the message; allowed commands pass byte-exact; with no rules the gate is
// never called.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSocketPairs, socketPair } from '../support/socket-pair.js';
import { createLogger } from '../../gateway/log/logger.js';
import { MyRelay } from '../../gateway/mysql/relay.js';
import { MyStatementLog } from '../../gateway/mysql/statement-log.js';
import { packet } from '../../gateway/mysql/wire/packets.js';
import type { SessionContext } from '../../gateway/session/adapter.js';
import type { GateCommand, GateVerdict } from '../../gateway/session/gate.js';

afterEach(closeSocketPairs);

/** A connected socket pair on loopback: [the side the relay holds, the far side]. */
async function pair(): Promise<[Socket, Socket]> {
  const [far, held] = await socketPair();
  return [held, far];
}

const query = (sql: string): Buffer => packet(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]));
const prepare = (sql: string): Buffer => packet(0, Buffer.concat([Buffer.from([0x16]), Buffer.from(sql)]));

async function relayWith(check: ((cmd: GateCommand) => GateVerdict) | null): Promise<{ client: Socket; target: Socket; checked: string[] }> {
  const [clientLeg, client] = await pair();
  const [upstreamLeg, target] = await pair();
  const checked: string[] = [];
  const session: Pick<SessionContext, 'activity' | 'check' | 'gatePassThrough' | 'guard'> = {
    activity: () => {},
    gatePassThrough: check === null,
    check: (cmd) => { if (cmd.kind === 'sql') checked.push(`${cmd.path}:${cmd.text}`); return check ? check(cmd) : { verdict: 'allow' }; },
    guard: (fn) => fn,
  };
  const relay = new MyRelay(clientLeg, upstreamLeg, new MyStatementLog(() => 0, () => 0, () => {}), 1 << 20, {
    killTarget: () => null, clientClosed: () => {}, upstreamClosed: () => {}, protocolError: () => {},
  }, createLogger('silent'), session);
  relay.start(Buffer.alloc(0), Buffer.alloc(0));
  return { client, target, checked };
}

const read = (s: Socket, bytes: number): Promise<Buffer> => new Promise((resolve) => {
  const got: Buffer[] = [];
  let n = 0;
  const on = (d: Buffer): void => { got.push(d); n += d.length; if (n >= bytes) { s.off('data', on); resolve(Buffer.concat(got)); } };
  s.on('data', on);
});

describe('the MySQL gate', () => {
  it('answers a denied statement with error 1142 and forwards only allowed ones', async () => {
    const { client, target, checked } = await relayWith((cmd) => (cmd.kind === 'sql' && /drop/i.test(cmd.text)
      ? { verdict: 'deny', message: 'DROP is not allowed here', rule: 't' } : { verdict: 'allow' }));
    const allowed = query('select 1');
    const forwarded = read(target, allowed.length * 2);
    const answered = read(client, 10);
    client.write(Buffer.concat([query('DROP TABLE orders'), allowed, prepare('drop table t')]));
    const err = await answered;
    expect(err[4]).toBe(0xff);
    expect(err.readUInt16LE(5)).toBe(1142);
    await new Promise((r) => setTimeout(r, 50));
    client.write(allowed);
    expect((await forwarded).equals(Buffer.concat([allowed, allowed]))).toBe(true);
    expect(checked).toEqual(['simple:DROP TABLE orders', 'simple:select 1', 'prepare:drop table t', 'simple:select 1']);
    client.destroy();
    target.destroy();
  });

  it('never calls the gate when no rule is configured', async () => {
    const { client, target, checked } = await relayWith(null);
    const q = query('DROP TABLE orders');
    const forwarded = read(target, q.length);
    client.write(q);
    expect((await forwarded).equals(q)).toBe(true);
    expect(checked).toEqual([]);
    client.destroy();
    target.destroy();
  });
});
