// The statement cap (statements.maxBytes) in the MySQL relay, over real loopback sockets (the test
// plays client and target): a statement up to the cap reaches the target and the statement log
// whole; one byte over it, nothing of it reaches the target, and once it has all arrived the
// client gets error 1153 with the sequence id after its last packet, the adapter's hook is told
// (it records the refusal and ends the session), and the session's cut adds no second error.
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSocketPairs, socketPair } from '../support/socket-pair.js';
import { type MyStatementRefusal, MyRelay, statementTooLargeMessage } from '../../gateway/mysql/relay.js';
import { MyStatementLog } from '../../gateway/mysql/statement-log.js';
import { framePayload } from '../../gateway/mysql/wire/client-commands.js';
import type { MyPacket } from '../../gateway/mysql/wire/packets.js';
import { createLogger } from '../../gateway/log/logger.js';

afterEach(closeSocketPairs);

const query = (sql: Buffer | string): Buffer => Buffer.concat(framePayload(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)])));
const prepare = (sql: Buffer | string): Buffer => Buffer.concat(framePayload(Buffer.concat([Buffer.from([0x16]), Buffer.from(sql)])));

async function relay(statementMax?: number): Promise<{
  client: Socket; toTarget: () => Buffer; toClient: () => Buffer; logged: MyPacket[]; refusals: MyStatementRefusal[]; r: MyRelay;
}> {
  const [client, gatewayClient] = await socketPair();
  const [gatewayUpstream, target] = await socketPair();
  const log = new MyStatementLog(() => 0, () => 0, () => {});
  const logged: MyPacket[] = [];
  const real = log.command.bind(log);
  log.command = (p) => { logged.push(p); real(p); };
  const refusals: MyStatementRefusal[] = [];
  const r = new MyRelay(gatewayClient, gatewayUpstream, log, 64 * 1024 * 1024, {
    killTarget: () => null, clientClosed: () => {}, upstreamClosed: () => {},
    protocolError: (side, detail) => { throw new Error(`${side}: ${detail}`); },
    statementTooLarge: (e) => refusals.push(e),
  }, createLogger('silent'), { activity: () => {}, check: () => ({ verdict: 'allow' }) as never, gatePassThrough: true, guard: (fn) => fn }, statementMax);
  r.start(Buffer.alloc(0), Buffer.alloc(0));
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  target.on('data', (d: Buffer) => up.push(d));
  client.on('data', (d: Buffer) => down.push(d));
  return { client, toTarget: () => Buffer.concat(up), toClient: () => Buffer.concat(down), logged, refusals, r };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms;) await new Promise((r) => setTimeout(r, 5));
}

async function writeInPieces(s: Socket, b: Buffer, piece: number): Promise<void> {
  for (let i = 0; i < b.length; i += piece) {
    if (!s.write(b.subarray(i, i + piece))) await once(s, 'drain');
  }
}

/** The first packet the client got: its sequence id, error code and message (null when not an ERR packet). */
function firstErr(b: Buffer): { seq: number; code: number; message: string } | null {
  if (b.length < 7 || b[4] !== 0xff) return null;
  const len = b.readUIntLE(0, 3);
  return { seq: b[3]!, code: b.readUInt16LE(5), message: b.toString('utf8', 13, 4 + len) };
}

describe('the statement cap in the MySQL relay', () => {
  const CAP = 4096;

  it('forwards and logs whole a statement of exactly the cap (COM_QUERY and COM_STMT_PREPARE)', async () => {
    const { client, toTarget, logged, refusals } = await relay(CAP);
    const q = query('s'.repeat(CAP));
    const p = prepare('p'.repeat(CAP));
    await writeInPieces(client, Buffer.concat([q, p]), 1000);
    await until(() => toTarget().length >= q.length + p.length);
    expect(toTarget().equals(Buffer.concat([q, p]))).toBe(true);
    expect(logged.map((l) => [l.head[0], l.length, l.head.length])).toEqual([[0x03, CAP + 1, CAP + 1], [0x16, CAP + 1, CAP + 1]]);
    expect(refusals).toEqual([]);
  });

  it('refuses a statement one byte over the cap: nothing forwarded, error 1153 in turn, the hook told, no second error on the cut', async () => {
    const { client, toTarget, toClient, logged, refusals, r } = await relay(CAP);
    await writeInPieces(client, query('s'.repeat(CAP + 1)), 1000);
    await until(() => refusals.length > 0 && toClient().length > 0);
    const refusal = { textBytes: CAP + 1, limit: CAP, path: 'simple' as const };
    expect(refusals).toEqual([refusal]);
    expect(firstErr(toClient())).toEqual({ seq: 1, code: 1153, message: statementTooLargeMessage(refusal) });
    expect(toTarget().length).toBe(0);
    expect(logged).toEqual([]);
    const before = toClient().length;
    r.cut(1153, '08S01', 'session ended');
    await new Promise((res) => setTimeout(res, 50));
    expect(toClient().length).toBe(before);
  });

  it('at the default 16 MiB: a two-packet statement of 16 MiB runs whole, 16 MiB + 1 is refused after its last packet', async () => {
    const ok = await relay();
    const whole = query(Buffer.alloc(16 * 1024 * 1024, 0x20));
    await writeInPieces(ok.client, whole, 256 * 1024);
    await until(() => ok.toTarget().length >= whole.length, 20_000);
    expect(ok.toTarget().equals(whole)).toBe(true);
    expect(ok.logged.map((l) => l.head.length)).toEqual([16 * 1024 * 1024 + 1]);

    const over = await relay();
    await writeInPieces(over.client, query(Buffer.alloc(16 * 1024 * 1024 + 1, 0x20)), 256 * 1024);
    await until(() => over.toClient().length > 0, 20_000);
    expect(firstErr(over.toClient())).toMatchObject({ seq: 2, code: 1153 });
    expect(over.refusals).toEqual([{ textBytes: 16 * 1024 * 1024 + 1, limit: 16 * 1024 * 1024, path: 'simple' }]);
    expect(over.toTarget().length).toBe(0);
  }, 60_000);
});
