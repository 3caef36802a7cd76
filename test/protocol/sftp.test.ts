import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SftpFrameReader, SftpProtocolError } from '../../gateway/ssh/wire/sftp-frames.js';
import { type SftpEvent, SftpTracker } from '../../gateway/ssh/wire/sftp-tracker.js';

// Builders for SFTP v3 packets.
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u64 = (n: number): Buffer => Buffer.concat([u32(Math.floor(n / 2 ** 32)), u32(n % 2 ** 32)]);
const str = (s: string | Buffer): Buffer => { const b = typeof s === 'string' ? Buffer.from(s) : s; return Buffer.concat([u32(b.length), b]); };
const pkt = (type: number, ...fields: Buffer[]): Buffer => { const body = Buffer.concat([Buffer.from([type]), ...fields]); return Buffer.concat([u32(body.length), body]); };
const ATTRS_NONE = u32(0);
const H = Buffer.from('h1');

type Side = 'client' | 'server';
const ok = (id: number): Buffer => pkt(101, u32(id), u32(0), str(''), str(''));

/** In causal order: an upload of `data` twice to /tmp/up, a download from /etc/motd, a remove, a rename, a refused remove. */
function conversation(data: Buffer): Array<[Side, Buffer]> {
  return [
    ['client', pkt(1, u32(3))], ['server', pkt(2, u32(3))],
    ['client', pkt(3, u32(1), str('/tmp/up'), u32(0x02 | 0x08 | 0x10), ATTRS_NONE)], ['server', pkt(102, u32(1), str(H))],
    ['client', pkt(6, u32(2), str(H), u64(0), str(data))], ['client', pkt(6, u32(3), str(H), u64(data.length), str(data))],
    ['server', ok(2)], ['server', ok(3)],
    ['client', pkt(4, u32(4), str(H))], ['server', ok(4)],
    ['client', pkt(3, u32(5), str('/etc/motd'), u32(0x01), ATTRS_NONE)], ['server', pkt(102, u32(5), str('h2'))],
    ['client', pkt(5, u32(6), str('h2'), u64(0), u32(32768))], ['client', pkt(5, u32(7), str('h2'), u64(100), u32(32768))],
    ['server', pkt(103, u32(6), str(Buffer.alloc(100, 1)))], ['server', pkt(103, u32(7), str(Buffer.alloc(20, 2)))],
    ['client', pkt(4, u32(8), str('h2'))], ['server', ok(8)],
    ['client', pkt(13, u32(9), str('/tmp/gone'))], ['server', ok(9)],
    ['client', pkt(200, u32(10), str('posix-rename@openssh.com'), str('/tmp/a'), str('/tmp/b'))], ['server', ok(10)],
    ['client', pkt(13, u32(11), str('/root/secret'))], ['server', pkt(101, u32(11), u32(3), str('denied'), str(''))],
  ];
}

const expected = (n: number): SftpEvent[] => [
  { op: 'write', path: '/tmp/up', bytes: 2 * n, ok: true },
  { op: 'read', path: '/etc/motd', bytes: 120, ok: true },
  { op: 'remove', path: '/tmp/gone', ok: true },
  { op: 'rename', path: '/tmp/a', to: '/tmp/b', ok: true },
  { op: 'remove', path: '/root/secret', ok: false, error: 'permission-denied' },
];

/**
 * Delivers the timeline in order; `cut` splits one side's byte stream at offset `at` (the bytes
 * before it arrive in one read, the rest in a later one), or `chunk` re-chunks every delivery.
 */
function run(timeline: Array<[Side, Buffer]>, opts: { cut?: { side: Side; at: number }; chunk?: number } = {}): SftpEvent[] {
  const events: SftpEvent[] = [];
  const t = new SftpTracker((e) => events.push(e));
  const offset = { client: 0, server: 0 };
  for (const [side, bytes] of timeline) {
    const start = offset[side];
    const end = start + bytes.length;
    offset[side] = end;
    let pieces = [bytes];
    const c = opts.cut;
    if (c && c.side === side && c.at > start && c.at < end) pieces = [bytes.subarray(0, c.at - start), bytes.subarray(c.at - start)];
    if (opts.chunk) pieces = pieces.flatMap((p) => Array.from({ length: Math.ceil(p.length / opts.chunk!) }, (_, i) => p.subarray(i * opts.chunk!, (i + 1) * opts.chunk!)));
    for (const p of pieces) t[side].push(p);
  }
  t.end();
  return events;
}

describe('the SFTP tracker', () => {
  it('reports reads, writes, removes and renames with bytes and outcome', () => {
    expect(run(conversation(Buffer.alloc(1000, 7)))).toEqual(expected(1000));
  });

  it('gives the same events for every split point of each stream', () => {
    const timeline = conversation(Buffer.alloc(300, 7));
    const want = expected(300);
    for (const side of ['client', 'server'] as const) {
      const total = timeline.filter(([s]) => s === side).reduce((n, [, b]) => n + b.length, 0);
      for (let at = 1; at < total; at++) expect(run(timeline, { cut: { side, at } }), `${side} split at ${at}`).toEqual(want);
    }
  });

  it('handles byte-at-a-time delivery and large writes without keeping their data', () => {
    expect(run(conversation(Buffer.alloc(300, 3)), { chunk: 1 })).toEqual(expected(300));
    const big = Buffer.alloc(200 * 1024, 3);
    expect(run(conversation(big), { chunk: 7919 })).toEqual(expected(big.length));
  });

  it('reports files left open when the channel ends', () => {
    const events: SftpEvent[] = [];
    const t = new SftpTracker((e) => events.push(e));
    t.client.push(pkt(3, u32(1), str('/tmp/x'), u32(0x02), ATTRS_NONE));
    t.server.push(pkt(102, u32(1), str(H)));
    t.client.push(pkt(6, u32(2), str(H), u64(0), str(Buffer.alloc(10))));
    t.end();
    expect(events).toEqual([{ op: 'write', path: '/tmp/x', bytes: 10, ok: false, error: 'not closed' }]);
  });
});

describe('SFTP framing limits', () => {
  it('refuses a packet length over the limit, and a zero length', () => {
    const r = new SftpFrameReader(() => {});
    expect(() => r.push(u32(0x7fffffff))).toThrowError(SftpProtocolError);
    expect(() => new SftpFrameReader(() => {}).push(u32(0))).toThrowError(SftpProtocolError);
  });

  it('never throws anything but a protocol error on arbitrary bytes', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.boolean(), (chunks, side) => {
      const t = new SftpTracker(() => {});
      try {
        for (const c of chunks) t[side ? 'client' : 'server'].push(Buffer.from(c));
      } catch (e) {
        expect(e).toBeInstanceOf(SftpProtocolError);
      }
    }), { numRuns: 2000 });
  });
});
