// Where the PostgreSQL gate's refusals land among the target's replies when a client pipelines:
// the relay over real loopback sockets, the test playing both the client and the target (which
// answers late, as a busy server does). A refused simple query is answered after the replies to
// what was sent before it; a refused extended-protocol message is answered inside its own batch,
// before the batch's ReadyForQuery, once. Also the sans-I/O ordering at every split point.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSocketPairs, socketPair } from '../support/socket-pair.js';
import { PgAnswerOrder } from '../../gateway/postgres/answer-order.js';
import { PgRelay } from '../../gateway/postgres/relay.js';
import { StatementLog } from '../../gateway/postgres/statement-log.js';
import { PgFrameReader } from '../../gateway/postgres/wire/frames.js';
import { errorOrNotice, readyForQuery } from '../../gateway/postgres/wire/server-messages.js';
import { createLogger } from '../../gateway/log/logger.js';
import type { GateCommand, GateVerdict } from '../../gateway/session/gate.js';

const int16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
const Q = (sql: string): Buffer => msg('Q', cstr(sql));
const P = (sql: string): Buffer => msg('P', cstr(''), cstr(sql), int16(0));
const B = (): Buffer => msg('B', cstr(''), cstr(''), int16(0), int16(0), int16(0));
const E = (): Buffer => msg('E', cstr(''), int32(0));
const S = (): Buffer => msg('S');
// Replies a target sends.
const parseComplete = (): Buffer => msg('1');
const bindComplete = (): Buffer => msg('2');
const complete = (tag: string): Buffer => msg('C', cstr(tag));

const deny = (cmd: GateCommand): GateVerdict =>
  cmd.kind === 'sql' && /drop/i.test(cmd.text) ? { verdict: 'deny', message: 'DROP is not allowed here', rule: 'test' } : { verdict: 'allow' };

function sent(bytes: Buffer): string[] {
  const out: string[] = [];
  new PgFrameReader((m) => out.push(m.type)).push(bytes);
  return out;
}

function types(bytes: Buffer): string[] {
  const out: string[] = [];
  new PgFrameReader((m) => out.push(m.type === 'C' || m.type === 'E' ? `${m.type}:${m.type === 'C' ? m.head.toString('latin1', 0, m.head.length - 1) : 'refused'}` : m.type)).push(bytes);
  return out;
}

afterEach(closeSocketPairs);

/** A client, the relay with a gate rule that refuses DROP, and the target's end of the upstream. */
async function relay(): Promise<{ client: Socket; target: Socket; received: () => Buffer }> {
  const [client, gatewayClient] = await socketPair();
  const [gatewayUpstream, target] = await socketPair();
  const log = new StatementLog(() => 0, () => {});
  const r = new PgRelay(gatewayClient, gatewayUpstream, log, { maxMessage: 1 << 20, statementMax: 1 << 20 }, { clientClosed: () => {}, upstreamClosed: () => {}, protocolError: () => {}, statementTooLarge: () => {} },
    createLogger('silent'), { activity: () => {}, check: deny, gatePassThrough: false, guard: (fn) => fn }, 'I');
  r.start(Buffer.alloc(0), Buffer.alloc(0));
  const got: Buffer[] = [];
  client.on('data', (d: Buffer) => got.push(d));
  return { client, target, received: () => Buffer.concat(got) };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('the order of gate refusals among the target\'s replies', () => {
  it('answers a refused simple query after the replies to the query pipelined before it', async () => {
    const { client, target, received } = await relay();
    const toTarget: Buffer[] = [];
    target.on('data', (d: Buffer) => toTarget.push(d));
    client.write(Buffer.concat([Q('select 1'), Q('DROP TABLE orders'), Q('select 2')]));
    await until(() => sent(Buffer.concat(toTarget)).length === 2);
    expect(sent(Buffer.concat(toTarget))).toEqual(['Q', 'Q']);
    await new Promise((r) => setTimeout(r, 30));
    // The target is slow: nothing may reach the client before the reply to `select 1`.
    expect(received().length).toBe(0);
    target.write(Buffer.concat([complete('SELECT 1'), readyForQuery('T')]));
    target.write(Buffer.concat([complete('SELECT 2'), readyForQuery('T')]));
    await until(() => types(received()).length === 6);
    expect(types(received())).toEqual(['C:SELECT 1', 'Z', 'E:refused', 'Z', 'C:SELECT 2', 'Z']);
  });

  it('answers a refused extended-protocol message inside its batch, before that batch\'s ReadyForQuery, once', async () => {
    const { client, target, received } = await relay();
    const toTarget: Buffer[] = [];
    target.on('data', (d: Buffer) => toTarget.push(d));
    client.write(Buffer.concat([P('select 1'), B(), E(), S(), P('drop table t'), B(), E(), S()]));
    await until(() => sent(Buffer.concat(toTarget)).length === 5);
    expect(sent(Buffer.concat(toTarget))).toEqual(['P', 'B', 'E', 'S', 'S']);
    await new Promise((r) => setTimeout(r, 30));
    expect(received().length).toBe(0);
    target.write(Buffer.concat([parseComplete(), bindComplete(), complete('SELECT 1'), readyForQuery('I')]));
    await new Promise((r) => setTimeout(r, 10));
    target.write(readyForQuery('I'));
    await until(() => types(received()).length === 6);
    expect(types(received())).toEqual(['1', '2', 'C:SELECT 1', 'Z', 'E:refused', 'Z']);
  });
});

describe('PgAnswerOrder, sans I/O', () => {
  it('places refusals the same at every split point of the target\'s replies', () => {
    const replies = Buffer.concat([parseComplete(), bindComplete(), complete('SELECT 1'), readyForQuery('I'), complete('SELECT 2'), readyForQuery('T'), readyForQuery('T')]);
    const error = errorOrNotice('E', 'ERROR', '42501', 'Portcullis: no');
    for (let at = 0; at <= replies.length; at++) {
      const out: Buffer[] = [];
      const order = new PgAnswerOrder((b) => out.push(Buffer.from(b)), 'I');
      // Batch 1: P B E S; then simple query 2; then a refused simple query; then batch 3 with a refused Parse.
      for (const t of ['P', 'B', 'E', 'S', 'Q']) order.forwarded(t);
      order.refused('Q', error);
      order.refused('P', error);
      order.forwarded('S');
      order.server(replies.subarray(0, at));
      order.server(replies.subarray(at));
      expect(types(Buffer.concat(out)), `split at ${at}`).toEqual(['1', '2', 'C:SELECT 1', 'Z', 'C:SELECT 2', 'Z', 'E:refused', 'Z', 'E:refused', 'Z']);
      // The refused simple query repeats the status of the ReadyForQuery before it.
      const statuses: string[] = [];
      new PgFrameReader((m) => { if (m.type === 'Z') statuses.push(m.head.toString('latin1')); }).push(Buffer.concat(out));
      expect(statuses).toEqual(['I', 'T', 'T', 'T']);
    }
  });
});
