// The fuzz generator: input `index` of listener L under seed S is a pure function of (S, L, index)
// and the captured corpus. Most inputs are a captured first flight with one to three stacked
// mutations (bit flips, interesting integers over length fields, truncation, insertion of protocol
// tokens, deletion, duplication, splicing with another seed, repetition, a huge tail); the rest are
// random bytes or nothing at all. Each input also says how it is delivered (whole, split at random
// points, or dripped a byte at a time) and how the client ends (half-close, wait for the gateway,
// reset, or stall until the gateway's own timeout).
import { Prng } from './prng.js';
import type { Corpus, ListenerName, Seed } from './seeds.js';

export type Delivery = 'whole' | 'split' | 'drip';
export type Ending = 'half-close' | 'wait' | 'reset' | 'stall';

export interface FuzzStep { data: Buffer; afterReply: boolean }

export interface FuzzInput {
  listener: ListenerName;
  index: number;
  seed: string;
  mutations: string[];
  inTls: boolean;
  steps: FuzzStep[];
  delivery: Delivery;
  ending: Ending;
}

export const LISTENERS: readonly ListenerName[] = ['ssh', 'postgres', 'mysql', 'https'];
const LISTENER_ID: Record<ListenerName, number> = { ssh: 1, postgres: 2, mysql: 3, https: 4 };

/** Inputs are capped so 32 in flight stay within a few tens of MB on the client side. */
const MAX_INPUT = 2 * 1024 * 1024;

const COMMON_TOKENS = ['\0', '\r\n', '\n', '\xff', '+', '%', '\0\0\0\0', '\xff\xff\xff\xff', '\x7f\xff\xff\xff', 'A'.repeat(300), '\u00e9', '\ud83d\ude00'];
const TOKENS: Record<ListenerName, string[]> = {
  ssh: ['SSH-2.0-', 'SSH-1.99-', 'SSH-1.5-', 'SSH-2.0-OpenSSH_9.2p1\r\n', 'curve25519-sha256,', 'none', 'ssh-ed25519', ',', 'zlib@openssh.com', 'ext-info-c'],
  postgres: ['user\0', 'database\0', 'options\0-c log_statement=none\0', '_pq_.fuzz\0on\0', 'replication\0database\0', 'fuzz+orders-db+admin\0', 'ops+orders-db\0',
    'client_encoding\0SQL_ASCII\0', '\0\0', 'application_name\0'],
  mysql: ['mysql_native_password\0', 'caching_sha2_password\0', 'dialog\0', 'auth_gssapi_client\0', 'sha256_password\0', '\xfe', '\xfc\xff\xff', '\xfd\xff\xff\xff',
    '\xfe\xff\xff\xff\xff\xff\xff\xff\xff', 'ops+shop-db\0', '_client_name\0libmariadb\0'],
  https: ['GET ', 'POST ', 'OPTIONS * ', '/../', '//[', '%zz', '%', '?', '#', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.0', '\r\nTransfer-Encoding: chunked',
    '\r\nContent-Length: -1', '\r\nContent-Length: 99999999999999999999', '\r\nContent-Length: 5\r\nContent-Length: 6', '\r\nUpgrade: websocket',
    '\r\nConnection: Upgrade', '\r\nSec-WebSocket-Version: 99', '\r\nSec-WebSocket-Key: x', '\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    '\r\nHost: ', '\r\nCookie: pc_link=', '\r\nCookie: pc_session=', '\r\nOrigin: null', '\r\nAuthorization: Bearer ', ':', ' ', '\t', '\r\n\r\n',
    '/api/v1/l/terminal', '/api/v1/sessions/../live', '/l/', '/assets/../../etc/passwd', '\r\nX: ' + 'x'.repeat(20_000)],
};
const INTS = [0, 1, 2, 3, 4, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xffffffff];

export function generate(corpus: Corpus, listener: ListenerName, seed: number, index: number): FuzzInput {
  const r = new Prng(seed, LISTENER_ID[listener], index);
  const seeds = corpus[listener];
  const base = r.weighted<'seed' | 'random' | 'empty'>([[90, 'seed'], [8, 'random'], [2, 'empty']]);
  let name: string;
  let inTls = false;
  let flights: Buffer[];
  let afterReply: boolean[];
  const mutations: string[] = [];
  if (base === 'seed') {
    const s = r.pick(seeds);
    ({ name } = s);
    inTls = s.inTls;
    flights = s.flights.map((f) => Buffer.from(f));
    afterReply = [...s.afterReply];
    const n = r.weighted([[50, 1], [35, 2], [15, 3]]);
    for (let k = 0; k < n; k++) mutations.push(mutate(r, listener, flights, seeds));
  } else if (base === 'random') {
    name = 'random';
    inTls = listener === 'https' && r.chance(0.3);
    const len = r.weighted([[30, r.range(1, 16)], [40, r.range(17, 512)], [25, r.range(513, 4096)], [5, r.range(4097, 256 * 1024)]]);
    flights = [r.bytes(len)];
    // MySQL speaks first: random bytes sent after its greeting reach the handshake parser.
    afterReply = [listener === 'mysql' && r.chance(0.7)];
  } else {
    name = 'empty';
    flights = [];
    afterReply = [];
  }
  const steps = flights.map((data, i) => ({ data: data.subarray(0, MAX_INPUT), afterReply: afterReply[i] ?? false }));
  const delivery = r.weighted<Delivery>([[70, 'whole'], [25, 'split'], [5, 'drip']]);
  const ending = base === 'empty' ? r.weighted<Ending>([[60, 'half-close'], [30, 'reset'], [10, 'stall']])
    : r.weighted<Ending>([[500, 'half-close'], [400, 'wait'], [97, 'reset'], [3, 'stall']]);
  return { listener, index, seed: name, mutations, inTls, steps, delivery, ending };
}

/** Applies one mutation to one flight (or the flight list) in place; returns its name. */
function mutate(r: Prng, listener: ListenerName, flights: Buffer[], seeds: Seed[]): string {
  if (flights.length === 0) return 'none';
  const fi = r.int(flights.length);
  const f = flights[fi]!;
  const at = (): number => (r.chance(0.5) ? r.int(Math.min(f.length + 1, 24)) : r.int(f.length + 1));
  const kind = r.weighted<string>([
    [14, 'bitflip'], [10, 'byte'], [16, 'int'], [12, 'truncate'], [12, 'token'], [8, 'insert'], [8, 'delete'],
    [6, 'dup'], [5, 'splice'], [4, 'repeat'], [2, 'huge'], [3, 'drop-flight'],
  ]);
  switch (kind) {
    case 'bitflip': {
      const b = Buffer.from(f);
      for (let k = r.range(1, 8); k > 0 && b.length > 0; k--) { const i = r.int(b.length); b[i] = b[i]! ^ (1 << r.int(8)); }
      flights[fi] = b;
      break;
    }
    case 'byte': {
      const b = Buffer.from(f);
      for (let k = r.range(1, 8); k > 0 && b.length > 0; k--) b[r.int(b.length)] = r.pick([0, 0xff, 0x7f, 0x80, 0x20, 0x0a, r.int(256)]);
      flights[fi] = b;
      break;
    }
    case 'int': {
      const width = r.pick([1, 2, 3, 4]);
      const b = Buffer.from(f);
      if (b.length < width) return 'int(short)';
      const pos = r.chance(0.6) ? r.int(Math.min(b.length - width + 1, 16)) : r.int(b.length - width + 1);
      const cur = b.readUIntBE(pos, width);
      const max = 2 ** (8 * width) - 1;
      const v = Math.min(max, Math.max(0, r.chance(0.3) ? cur + r.range(-2, 2) : r.pick(INTS)));
      if (r.chance(0.5)) b.writeUIntBE(v, pos, width); else b.writeUIntLE(v, pos, width);
      flights[fi] = b;
      break;
    }
    case 'truncate':
      flights[fi] = f.subarray(0, r.int(f.length));
      flights.length = fi + 1;
      break;
    case 'token':
    case 'insert': {
      const ins = kind === 'token' ? Buffer.from(r.pick([...TOKENS[listener], ...COMMON_TOKENS]), 'latin1') : r.bytes(r.range(1, 64));
      const pos = at();
      const replace = r.chance(0.4) ? r.int(Math.min(16, f.length - pos) + 1) : 0;
      flights[fi] = Buffer.concat([f.subarray(0, pos), ins, f.subarray(pos + replace)]);
      break;
    }
    case 'delete': {
      const pos = at();
      flights[fi] = Buffer.concat([f.subarray(0, pos), f.subarray(pos + r.range(1, 64))]);
      break;
    }
    case 'dup': {
      const pos = r.int(f.length + 1);
      const piece = f.subarray(pos, pos + r.range(1, 256));
      const times = r.range(1, 64);
      flights[fi] = Buffer.concat([f.subarray(0, pos), ...Array<Buffer>(times).fill(piece), f.subarray(pos)]);
      break;
    }
    case 'splice': {
      const other = r.pick(seeds).flights;
      const g = other.length > 0 ? r.pick(other) : r.bytes(32);
      flights[fi] = Buffer.concat([f.subarray(0, r.int(f.length + 1)), g.subarray(r.int(g.length + 1))]);
      break;
    }
    case 'repeat':
      flights[fi] = Buffer.concat(Array<Buffer>(r.range(2, 50)).fill(f));
      break;
    case 'huge': {
      const n = r.range(64 * 1024, MAX_INPUT);
      flights[fi] = Buffer.concat([f, r.chance(0.5) ? r.bytes(n) : Buffer.alloc(n, r.int(256))]);
      break;
    }
    case 'drop-flight':
      // Emptied rather than removed: the flights keep their places (and their waits for a reply).
      flights[fi] = Buffer.alloc(0);
      break;
  }
  return kind;
}
