// The fuzz generator is deterministic per (seed, listener, index), varied, and bounded: a failing
// input of a run can be regenerated alone from its number, and no input exceeds the 2 MB cap.
import { describe, expect, it } from 'vitest';
import { generate, LISTENERS } from '../harness/fuzz/mutate.js';
import { Prng } from '../harness/fuzz/prng.js';
import type { Corpus } from '../harness/fuzz/seeds.js';

const seed = (name: string, ...flights: string[]): Corpus['ssh'][number] =>
  ({ name, flights: flights.map((f) => Buffer.from(f, 'latin1')), afterReply: flights.map((_, i) => i > 0), inTls: false });

const corpus: Corpus = {
  ssh: [seed('ident', 'SSH-2.0-OpenSSH_9.2p1\r\n', '\0\0\x01\x0c\x0a\x14' + 'k'.repeat(260))],
  postgres: [seed('startup', '\0\0\0\x2a\0\x03\0\0user\0fuzz+orders-db\0database\0orders\0\0')],
  mysql: [seed('response', '\x20\0\0\x01' + '\x85\xa6\xff\x01' + '\0'.repeat(28))],
  https: [{ ...seed('get', 'GET /api/v1/whoami HTTP/1.1\r\nHost: gw\r\n\r\n'), inTls: true }],
};

describe('fuzz generator', () => {
  it('gives the same input for the same seed, listener and index, and another for another index', () => {
    for (const l of LISTENERS) {
      const a = generate(corpus, l, 7, 123);
      const b = generate(corpus, l, 7, 123);
      expect(b).toEqual(a);
      const others = Array.from({ length: 20 }, (_, i) => generate(corpus, l, 7, 200 + i));
      expect(new Set(others.map((x) => JSON.stringify(x.steps.map((s) => s.data.toString('hex'))))).size).toBeGreaterThan(15);
    }
  });

  it('uses every mutation, delivery and ending, and keeps inputs under 2 MB', () => {
    const mutations = new Set<string>();
    const deliveries = new Set<string>();
    const endings = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const x = generate(corpus, 'postgres', 1, i);
      x.mutations.forEach((m) => mutations.add(m.replace(/\(.*/, '')));
      deliveries.add(x.delivery);
      endings.add(x.ending);
      expect(x.steps.reduce((s, st) => s + st.data.length, 0)).toBeLessThanOrEqual(2 * 1024 * 1024 + 4096);
    }
    expect([...mutations].sort()).toEqual(['bitflip', 'byte', 'delete', 'drop-flight', 'dup', 'huge', 'insert', 'int', 'repeat', 'splice', 'token', 'truncate']);
    expect([...deliveries].sort()).toEqual(['drip', 'split', 'whole']);
    expect([...endings].sort()).toEqual(['half-close', 'reset', 'stall', 'wait']);
  });

  it('draws integers uniformly enough from its PRNG', () => {
    const r = new Prng(42);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[r.int(10)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(600);
  });
});
