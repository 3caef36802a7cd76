// The client→server command framer at every split point: held commands come out whole (16 MiB
// continuation packets joined), small packets whole, big bulk packets streamed after their head —
// the same events however the bytes are cut, and the bytes as sent preserved.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClientCommandSink, ClientCommands, framePayload } from '../../gateway/mysql/wire/client-commands.js';
import { MAX_PAYLOAD, MyProtocolError, packet } from '../../gateway/mysql/wire/packets.js';

type Event = string;

function framer(opts: { maxHeld?: number; drop?: boolean } = {}): { push: (b: Buffer) => void; events: Event[]; forwarded: () => Buffer; atBoundary: () => boolean } {
  const events: Event[] = [];
  const out: Buffer[] = [];
  const sink: ClientCommandSink = {
    whole: (seq, payload, raw) => { events.push(`whole ${seq} ${payload.length} ${digest(payload)}`); out.push(...raw); },
    tooBig: (seq, cmd, length) => events.push(`tooBig ${seq} ${cmd} ${length}`),
    streamStart: (seq, head, length) => { events.push(`stream ${seq} ${head[0]} ${head.length >= 65536 ? 'head' : head.length} ${length}`); return !opts.drop; },
    streamBytes: (b) => { out.push(b); },
  };
  const f = new ClientCommands(sink, (cmd) => cmd === 0x03 || cmd === 0x16, {
    maxPacket: 64 * 1024 * 1024, maxHeld: opts.maxHeld ?? 40 * 1024 * 1024, streamAt: 1024 * 1024, headBytes: 64 * 1024,
  });
  return { push: (b) => f.push(b), events, forwarded: () => Buffer.concat(out), atBoundary: () => f.atBoundary };
}

/** A short fingerprint of a payload: its first and last bytes. */
function digest(b: Buffer): string {
  return `${b.subarray(0, 8).toString('latin1')}…${b.subarray(-4).toString('latin1')}`;
}

const query = (sql: string | Buffer): Buffer => Buffer.concat(framePayload(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)])));
const cmd = (code: number, body: Buffer): Buffer => packet(0, Buffer.concat([Buffer.from([code]), body]));

function feedInPieces(push: (b: Buffer) => void, all: Buffer, cuts: number[]): void {
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) { push(all.subarray(at, c)); at = c; }
  push(all.subarray(at));
}

describe('client command framing', () => {
  const small = Buffer.concat([query('KILL 5'), cmd(0x0c, Buffer.from([5, 0, 0, 0])), cmd(0x0e, Buffer.alloc(0)), packet(0, Buffer.alloc(0)), query('select 1; kill query 7')]);

  it('gives the same whole commands and bytes at every split point (two and three pieces)', () => {
    const ref = framer();
    ref.push(small);
    expect(ref.events).toEqual([
      'whole 0 7 \u0003KILL 5…LL 5', 'whole 0 5 \u000c\u0005\u0000\u0000\u0000…\u0005\u0000\u0000\u0000', 'whole 0 1 \u000e…\u000e', 'whole 0 0 …', 'whole 0 23 \u0003select …ry 7',
    ]);
    expect(ref.forwarded().equals(small)).toBe(true);
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j += 3) {
        const f = framer();
        feedInPieces(f.push, small, [i, j]);
        expect(f.events, `cut at ${i}, ${j}`).toEqual(ref.events);
        expect(f.forwarded().equals(small)).toBe(true);
        expect(f.atBoundary()).toBe(true);
      }
    }
  });

  it('joins a statement of 16 MiB and more from its continuation packets, however it arrives', () => {
    const sql = Buffer.alloc(MAX_PAYLOAD * 2 + 10, 0x20);
    Buffer.from('select 1; /*').copy(sql, 0);
    Buffer.from('*/ KILL 5').copy(sql, sql.length - 9);
    const wire = query(sql);
    expect(wire.readUIntLE(0, 3)).toBe(MAX_PAYLOAD);
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: wire.length }), { maxLength: 6 }), (cuts) => {
      const f = framer();
      feedInPieces(f.push, wire, cuts);
      expect(f.events).toEqual([`whole 0 ${sql.length + 1} \u0003select …LL 5`]);
      expect(f.forwarded().equals(wire)).toBe(true);
    }), { numRuns: 8 });
  });

  it('frames an exact multiple of 16 MiB with the empty last packet, and reads it back', () => {
    const payload = Buffer.alloc(MAX_PAYLOAD, 0x78);
    payload[0] = 0x03;
    const packets = framePayload(payload);
    expect(packets.map((p) => p.length)).toEqual([MAX_PAYLOAD + 4, 4]);
    expect(packets[1]![3]).toBe(1);
    const f = framer();
    f.push(Buffer.concat(packets));
    expect(f.events).toEqual([`whole 0 ${MAX_PAYLOAD} ${digest(payload)}`]);
  });

  it('streams a big bulk packet after its head and carries its continuations, or drops them all', () => {
    const exec = Buffer.alloc(MAX_PAYLOAD + 100, 0x61);
    exec[0] = 0x17;
    const wire = Buffer.concat([...framePayload(exec), query('select 2')]);
    for (const drop of [false, true]) {
      const f = framer({ drop });
      feedInPieces(f.push, wire, [3, 5, 70_000, MAX_PAYLOAD + 2, MAX_PAYLOAD + 6]);
      expect(f.events).toEqual([`stream 0 23 head ${MAX_PAYLOAD}`, 'whole 0 9 \u0003select …ct 2']);
      expect(f.forwarded().equals(drop ? query('select 2') : wire)).toBe(true);
    }
  });

  it('delivers a small bulk packet whole', () => {
    const f = framer();
    const p = cmd(0x17, Buffer.alloc(1000, 1));
    f.push(p);
    expect(f.events).toEqual([`whole 0 1001 ${digest(p.subarray(4))}`]);
  });

  it('drops a held command over the limit, continuations included, and goes on', () => {
    const f = framer({ maxHeld: MAX_PAYLOAD + 10 });
    const big = query(Buffer.alloc(MAX_PAYLOAD + 50, 0x20));
    feedInPieces(f.push, Buffer.concat([big, query('select 3')]), [100, MAX_PAYLOAD + 7]);
    expect(f.events).toEqual([`tooBig 0 3 ${MAX_PAYLOAD + 51}`, 'whole 0 9 \u0003select …ct 3']);
    expect(f.forwarded().equals(query('select 3'))).toBe(true);
  });

  it('reports the end of a held command dropped over the limit, with its last sequence id and whole length', () => {
    const ends: string[] = [];
    const f = new ClientCommands({
      whole: () => {}, tooBig: (seq, c, length) => ends.push(`tooBig ${seq} ${c} ${length}`),
      tooBigEnd: (seq, c, length) => ends.push(`end ${seq} ${c} ${length}`), streamStart: () => true, streamBytes: () => {},
    }, (c) => c === 0x03, { maxPacket: 64 * 1024 * 1024, maxHeld: 1000, streamAt: 1024 * 1024, headBytes: 64 * 1024 });
    const over = query(Buffer.alloc(MAX_PAYLOAD + 50, 0x20));
    feedInPieces((b) => f.push(b), Buffer.concat([query(Buffer.alloc(1000, 0x20)), over]), [500, 70_000]);
    expect(ends).toEqual([`tooBig 0 3 1001`, 'end 0 3 1001', `tooBig 0 3 ${MAX_PAYLOAD}`, `end 1 3 ${MAX_PAYLOAD + 51}`]);
    expect(f.atBoundary).toBe(true);
  });

  it('refuses a packet over the packet limit as a protocol error', () => {
    const f = framer();
    const h = Buffer.alloc(4);
    h.writeUIntLE(0xffffff, 0, 3);
    const small = new ClientCommands({ whole: () => {}, tooBig: () => {}, streamStart: () => true, streamBytes: () => {} }, () => true,
      { maxPacket: 1000, maxHeld: 1000, streamAt: 500, headBytes: 100 });
    expect(() => small.push(h)).toThrow(MyProtocolError);
    expect(f.events).toEqual([]);
  });

  it('never throws anything but a protocol error on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const f = new ClientCommands({ whole: () => {}, tooBig: () => {}, streamStart: () => true, streamBytes: () => {} }, (c) => c === 3,
        { maxPacket: 4096, maxHeld: 8192, streamAt: 256, headBytes: 64 });
      try { f.push(Buffer.from(bytes)); } catch (e) { expect(e).toBeInstanceOf(MyProtocolError); }
    }));
  });
});
