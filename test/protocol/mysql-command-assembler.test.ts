// The MySQL command assembler joins commands split over several packets (a full payload continues
// in the next packet), keeps statement text whole up to the cap and other commands' heads only,
// skips packets that are not commands, and refuses a statement over the cap at the packet that
// takes it over, telling the caller to forward nothing from that chunk on and saying the refusal
// once the statement's last byte is in. At every split point, with an 8-byte "full payload" so
// every case is short; then once at the real 2^24-1 payload size.
import { describe, expect, it } from 'vitest';
import { MyCommandAssembler, MyStatementTooLarge } from '../../gateway/mysql/command-assembler.js';
import { MAX_PAYLOAD, type MyPacket } from '../../gateway/mysql/wire/packets.js';

const MAXP = 8;
const CAP = 20;
const HEAD = 6;

/** A command's payload as the client sends it: packets of at most `max` bytes, an empty one after an exact multiple. */
function packets(payload: Buffer, max = MAXP, seq0 = 0): Buffer {
  const out: Buffer[] = [];
  let seq = seq0;
  for (let off = 0; ; off += max) {
    const part = payload.subarray(off, off + max);
    const h = Buffer.alloc(4);
    h.writeUIntLE(part.length, 0, 3);
    h[3] = seq++ & 0xff;
    out.push(h, part);
    if (part.length < max) break;
  }
  return Buffer.concat(out);
}
const query = (sql: string): Buffer => Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]);
const prepare = (sql: string): Buffer => Buffer.concat([Buffer.from([0x16]), Buffer.from(sql)]);

interface Run { commands: Array<[number, number, string]>; accepted: boolean[]; refused: MyStatementTooLarge[] }

function feed(stream: Buffer, at: number, max = MAXP): Run {
  const run: Run = { commands: [], accepted: [], refused: [] };
  const a = new MyCommandAssembler((p: MyPacket) => run.commands.push([p.head[0] ?? -1, p.length, p.head.toString('latin1', 1)]),
    (e) => run.refused.push(e), CAP, HEAD, max);
  run.accepted.push(a.push(stream.subarray(0, at)));
  run.accepted.push(a.push(stream.subarray(at)));
  return run;
}

describe('MySQL command assembler', () => {
  it('joins multi-packet commands, keeps statements whole and other heads only, at every split point', () => {
    const stream = Buffer.concat([
      packets(query('select 1')), // 9 bytes: a full packet and a 1-byte continuation
      packets(prepare('x'.repeat(15))), // 16 bytes: two full packets and an empty one
      packets(query('y'.repeat(CAP))), // exactly the cap
      packets(Buffer.concat([Buffer.from([0x17]), Buffer.alloc(30, 0x41)])), // COM_STMT_EXECUTE: head only
      packets(Buffer.from('local infile data'), MAXP, 2), // not a command (sequence 2): skipped
      packets(Buffer.from([0x0e])), // COM_PING
    ]);
    const want: Array<[number, number, string]> = [
      [0x03, 9, 'select 1'], [0x16, 16, 'x'.repeat(15)], [0x03, CAP + 1, 'y'.repeat(CAP)], [0x17, 31, 'AAAAA'], [0x0e, 1, ''],
    ];
    for (let at = 1; at < stream.length; at++) {
      const run = feed(stream, at);
      expect(run.commands, `at ${at}`).toEqual(want);
      expect(run.accepted, `at ${at}`).toEqual([true, true]);
      expect(run.refused).toEqual([]);
    }
  });

  it('refuses a statement over the cap from the chunk that shows it, drops the rest and says so after its last byte, at every split point', () => {
    const first = packets(query('ok'));
    const big = packets(query('z'.repeat(CAP + 5))); // 26 bytes: packets of 8, 8, 8, 2 (sequence 0..3)
    const after = packets(query('never'));
    const stream = Buffer.concat([first, big, after]);
    // The third packet's header (total 24 > cap + 1) is where the statement goes over the cap.
    const over = first.length + 2 * (4 + MAXP) + 4;
    for (let at = 1; at < stream.length; at++) {
      const run = feed(stream, at);
      expect(run.commands, `at ${at}`).toEqual([[0x03, 3, 'ok']]);
      expect(run.accepted, `at ${at}`).toEqual(at >= over ? [false, false] : [true, false]);
      expect(run.refused.map((e) => [e.textBytes, e.limit, e.replySeq]), `at ${at}`).toEqual([[CAP + 5, CAP, 4]]);
    }
  });

  it('emits a command that ends with an empty continuation packet as soon as that packet\'s header is in', () => {
    const stream = packets(query('e'.repeat(MAXP * 2 - 1))); // 16 bytes: 8, 8, then an empty packet ending the stream
    for (let at = 1; at < stream.length; at++) expect(feed(stream, at).commands, `at ${at}`).toEqual([[0x03, 16, 'e'.repeat(15)]]);
  });

  it('refuses a single packet over the cap at its command byte, even with no continuation', () => {
    const stream = Buffer.concat([packets(query('w'.repeat(CAP + 1)), 64), packets(query('next'), 64)]);
    for (let at = 1; at < stream.length; at++) {
      const run = feed(stream, at, 64);
      expect(run.commands).toEqual([]);
      expect(run.accepted, `at ${at}`).toEqual(at >= 5 ? [false, false] : [true, false]);
      expect(run.refused.map((e) => e.replySeq)).toEqual([1]);
    }
  });

  it('joins a real 16 MiB - 1 statement (a full 2^24-1 payload and its continuation)', () => {
    const sql = 'v'.repeat(MAX_PAYLOAD);
    const stream = packets(query(sql), MAX_PAYLOAD);
    for (const at of [1, 3, 4, 5, MAX_PAYLOAD + 3, MAX_PAYLOAD + 4, MAX_PAYLOAD + 5, stream.length - 1]) {
      const got: MyPacket[] = [];
      const a = new MyCommandAssembler((p) => got.push(p), () => {}, 16 * 1024 * 1024);
      expect(a.push(stream.subarray(0, at)) && a.push(stream.subarray(at))).toBe(true);
      expect(got.map((p) => [p.length, p.head.length])).toEqual([[MAX_PAYLOAD + 1, MAX_PAYLOAD + 1]]);
    }
  });
});
