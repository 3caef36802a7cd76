// KILL through the MySQL relay over real loopback sockets (the test plays client and target): every
// spelling is mapped to the user's own upstream thread or refused in MySQL words and recorded as
// gated; and a command of 1 MiB and more, in many reads or over several 16 MiB packets, gets the
// same gates as a small one (KILL mapping, COM_CHANGE_USER refusal, the expiry hold, the statement log).
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeSocketPairs, socketPair } from '../support/socket-pair.js';
import { MyRelay } from '../../gateway/mysql/relay.js';
import { MyStatementLog } from '../../gateway/mysql/statement-log.js';
import { framePayload } from '../../gateway/mysql/wire/client-commands.js';
import { MAX_PAYLOAD, packet } from '../../gateway/mysql/wire/packets.js';
import { createLogger } from '../../gateway/log/logger.js';
import { type GateCommand, Gate, describeCommand } from '../../gateway/session/gate.js';

afterEach(closeSocketPairs);

/** Gateway id 1001 is this user's session, upstream thread 77; every other id is someone else's. */
const OWN = 1001, UPSTREAM = 77;

const frame = (code: number, body: Buffer | string): Buffer => Buffer.concat(framePayload(Buffer.concat([Buffer.from([code]), Buffer.from(body)])));
const query = (sql: Buffer | string): Buffer => frame(0x03, sql);

async function relay(): Promise<{ client: Socket; toTarget: () => Buffer; toClient: () => Buffer; gated: GateCommand[]; logged: number[]; r: MyRelay }> {
  const [client, gatewayClient] = await socketPair();
  const [gatewayUpstream, target] = await socketPair();
  const log = new MyStatementLog(() => 0, () => 0, () => {});
  const logged: number[] = [];
  const real = log.command.bind(log);
  vi.spyOn(log, 'command').mockImplementation((p) => { logged.push(p.length); real(p); });
  const gated: GateCommand[] = [];
  // The real gate with no rules: its built-in rule records the relay's KILL refusals.
  const gate = new Gate([], { user: 'a', target: 't', protocol: 'mysql', allowPortForwarding: false, roles: [], targetTags: [], level: 'default' });
  const r = new MyRelay(gatewayClient, gatewayUpstream, log, 64 * 1024 * 1024, {
    killTarget: (id) => (id === OWN ? UPSTREAM : null), clientClosed: () => {}, upstreamClosed: () => {},
    protocolError: (side, detail) => { throw new Error(`${side}: ${detail}`); },
  }, createLogger('silent'), { activity: () => {}, check: (c) => { const v = gate.check(c); if (v.verdict !== 'allow') gated.push(c); return v; }, gatePassThrough: true, guard: (fn) => fn },
    // statements.maxBytes raised to the packet limit: these tests send statements over 16 MiB.
    64 * 1024 * 1024);
  r.start(Buffer.alloc(0), Buffer.alloc(0));
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  target.on('data', (d: Buffer) => up.push(d));
  client.on('data', (d: Buffer) => down.push(d));
  return { client, toTarget: () => Buffer.concat(up), toClient: () => Buffer.concat(down), gated, logged, r };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms;) await new Promise((r) => setTimeout(r, 5));
}

async function writeInPieces(s: Socket, b: Buffer, piece: number): Promise<void> {
  for (let i = 0; i < b.length; i += piece) {
    if (!s.write(b.subarray(i, i + piece))) await once(s, 'drain');
  }
}

/** The error code of the first ERR packet the client got. */
const errCode = (b: Buffer): number | null => (b.length >= 7 && b[4] === 0xff ? b.readUInt16LE(5) : null);

describe('KILL through the MySQL relay', () => {
  it('rewrites every spelling that names the user\'s own session to its upstream thread', async () => {
    const cases: Array<[string, string]> = [
      [`KILL QUERY ${OWN}`, `KILL QUERY ${UPSTREAM}`], [`kill ${OWN}`, `kill ${UPSTREAM}`], [`/*!KILL ${OWN}*/`, `/*!KILL ${UPSTREAM}*/`],
      [`select 1; KILL HARD CONNECTION ${OWN}`, `select 1; KILL HARD CONNECTION ${UPSTREAM}`], [`/*M!100000 KILL SOFT QUERY ${OWN} */`, `/*M!100000 KILL SOFT QUERY ${UPSTREAM} */`],
    ];
    for (const [sent, forwarded] of cases) {
      const { client, toTarget, toClient, gated } = await relay();
      client.write(query(sent));
      await until(() => toTarget().length > 0);
      expect(toTarget().equals(query(forwarded)), sent).toBe(true);
      expect(toClient().length).toBe(0);
      expect(gated).toEqual([]);
    }
  });

  it('refuses every KILL it cannot map, answers in MySQL words, forwards nothing and records it as gated', async () => {
    const cases: Array<[Buffer, number]> = [
      [query('KILL 5'), 1094], [query(`KILL ${OWN}; KILL 6`), 1094], [query('KILL USER shopapp'), 1095], [query('KILL QUERY ID 9'), 1095],
      [query(`KILL ${OWN}+0`), 1095], [query("PREPARE s FROM 'KILL 5'"), 1095], [query("EXECUTE IMMEDIATE CONCAT('KI', 'LL 5')"), 1095],
      [query('SET @s = 1; PREPARE s FROM @s'), 1095], [frame(0x16, 'KILL ?'), 1095], [frame(0x16, `KILL ${OWN}x`), 1095],
      [frame(0x0c, Buffer.from([5, 0, 0, 0])), 1094], [query("select '\\'; KILL 5; -- '"), 1094],
      // Out of order: a command is read as one whatever its sequence id.
      [packet(3, Buffer.from('\u0003KILL 5', 'latin1')), 1094],
    ];
    for (const [sent, code] of cases) {
      const { client, toTarget, toClient, gated } = await relay();
      client.write(sent);
      await until(() => toClient().length > 0);
      expect(errCode(toClient()), sent.toString('latin1')).toBe(code);
      expect(gated).toHaveLength(1);
      expect(gated[0]).toMatchObject({ kind: 'thread-kill', protocol: 'mysql' });
      await new Promise((r) => setTimeout(r, 20));
      expect(toTarget().length).toBe(0);
    }
  });

  it('maps COM_PROCESS_KILL (the old command byte) and refuses command bytes it does not know', async () => {
    const { client, toTarget, toClient } = await relay();
    const own = Buffer.alloc(4);
    own.writeUInt32LE(OWN);
    client.write(frame(0x0c, own));
    await until(() => toTarget().length > 0);
    const up = Buffer.alloc(4);
    up.writeUInt32LE(UPSTREAM);
    expect(toTarget().equals(frame(0x0c, up))).toBe(true);
    client.write(packet(0, Buffer.concat([Buffer.from([0xfe]), query('KILL 5')])));
    await until(() => toClient().length > 0);
    expect(errCode(toClient())).toBe(1047);
    expect(toTarget().equals(frame(0x0c, up))).toBe(true);
  });

  it('maps or refuses a KILL behind 2 MiB of padding sent in many reads', async () => {
    const { client, toTarget, toClient, gated } = await relay();
    const pad = 'x'.repeat(2 * 1024 * 1024);
    await writeInPieces(client, query(`select 1; /*${pad}*/ KILL 5`), 16 * 1024);
    await until(() => toClient().length > 0);
    expect(errCode(toClient())).toBe(1094);
    // The record shows the refused KILL, not the padding in front of it.
    expect(describeCommand(gated[0]!)).toMatch(/^…x+\*\/ KILL 5 \[\d+ bytes\] — Unknown thread id: 5$/);
    const own = query(`select 1; /*${pad}*/ KILL ${OWN}`);
    await writeInPieces(client, own, 16 * 1024);
    const want = query(`select 1; /*${pad}*/ KILL ${UPSTREAM}`);
    await until(() => toTarget().length >= want.length);
    expect(toTarget().equals(want)).toBe(true);
  });

  it('reads a statement over several 16 MiB packets whole: KILL at its end, and the statement log sees its whole length', async () => {
    const { client, toTarget, toClient, logged } = await relay();
    const pad = Buffer.alloc(MAX_PAYLOAD + 1000, 0x20);
    const sql = (id: number): Buffer => Buffer.concat([Buffer.from('select 1; /*'), pad, Buffer.from(`*/ KILL ${id}`)]);
    await writeInPieces(client, query(sql(5)), 256 * 1024);
    await until(() => toClient().length > 0, 20_000);
    expect(errCode(toClient())).toBe(1094);
    expect(toTarget().length).toBe(0);
    await writeInPieces(client, query(sql(OWN)), 256 * 1024);
    const want = query(sql(UPSTREAM));
    await until(() => toTarget().length >= want.length, 20_000);
    expect(toTarget().equals(want)).toBe(true);
    expect(logged).toEqual([want.length - 8]);
  }, 60_000);

  it('refuses COM_CHANGE_USER and holds a statement after the expiry warning at any size', async () => {
    const { client, toTarget, toClient, r } = await relay();
    await writeInPieces(client, frame(0x11, Buffer.alloc(2 * 1024 * 1024, 0x41)), 16 * 1024);
    await until(() => toClient().length > 0);
    expect(errCode(toClient())).toBe(1235);
    r.warnOnNextStatement('access ends in 1 minute');
    const before = toClient().length;
    await writeInPieces(client, query(`select '${'y'.repeat(2 * 1024 * 1024)}'`), 16 * 1024);
    await until(() => toClient().length > before);
    expect(errCode(toClient().subarray(before))).toBe(1105);
    // A big COM_STMT_EXECUTE streams, but only once the hold has seen its head.
    r.warnOnNextStatement('access ends in 1 minute');
    const mid = toClient().length;
    await writeInPieces(client, frame(0x17, Buffer.alloc(MAX_PAYLOAD + 10, 0x42)), 256 * 1024);
    await until(() => toClient().length > mid, 20_000);
    expect(errCode(toClient().subarray(mid))).toBe(1105);
    await new Promise((res) => setTimeout(res, 50));
    expect(toTarget().length).toBe(0);
  }, 60_000);
});
