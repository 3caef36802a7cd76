// The gateway's side of a PostgreSQL target's login (postgres/upstream-auth.ts), message by
// message: SCRAM must end with the server's valid signature before AuthenticationOk is believed;
// cleartext, MD5 and no authentication are refused before anything is sent unless the target opted
// in, and then reported before the password goes out.
import { describe, expect, it } from 'vitest';
import { makeScramVerifier, parseScramVerifier } from '../../gateway/access/scram-verifier.js';
import { PgUpstreamAuth } from '../../gateway/postgres/upstream-auth.js';
import { ScramServer } from '../../gateway/postgres/wire/scram.js';
import { type WeakUpstreamAuth, upstreamAuthPolicy } from '../../gateway/session/upstream-auth.js';
import { UpstreamFailure } from '../../gateway/session/upstream-failure.js';
import type { DbTlsMode } from '../../gateway/store/records.js';

const PASSWORD = 'Vaulted-Canary-Pg-77';
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const R = (code: number, ...rest: Buffer[]): Buffer => Buffer.concat([int32(code), ...rest]);
const cstr = (s: string): Buffer => Buffer.from(s + '\0');

function auth(opts: { allowWeak?: boolean; tls?: DbTlsMode } = {}): { a: PgUpstreamAuth; weak: WeakUpstreamAuth[] } {
  const weak: WeakUpstreamAuth[] = [];
  const policy = upstreamAuthPolicy({ name: 'orders-db', tlsMode: opts.tls ?? 'disable', allowWeakUpstreamAuth: opts.allowWeak ?? false, rsaKeyFingerprint: null, tlsFingerprint: null }, (m) => weak.push(m));
  return { a: new PgUpstreamAuth(policy, 'app', () => PASSWORD), weak };
}

/** The SASL data of a SASLInitialResponse / SASLResponse ('p') the client side produced. */
function saslData(msg: Buffer, initial: boolean): string {
  let off = 5;
  if (initial) {
    off = msg.indexOf(0, off) + 1;
    const len = msg.readInt32BE(off);
    return msg.toString('utf8', off + 4, off + 4 + len);
  }
  return msg.toString('utf8', off);
}

function failure(fn: () => unknown): UpstreamFailure {
  try {
    fn();
  } catch (e) {
    if (e instanceof UpstreamFailure) return e;
    throw e;
  }
  throw new Error('did not throw');
}

/** Runs SCRAM up to (not including) the server's final message; returns the server's answer to the client-final. */
async function scramUpTo(a: PgUpstreamAuth, serverPassword: string): Promise<{ serverFinal: string }> {
  const server = new ScramServer(parseScramVerifier(await makeScramVerifier(serverPassword, 4096))!);
  const first = a.request(R(10, cstr('SCRAM-SHA-256-PLUS'), cstr('SCRAM-SHA-256'), cstr(''))) as Buffer;
  const serverFirst = server.first(saslData(first, true));
  const final = (await a.request(R(11, Buffer.from(serverFirst))))!;
  return { serverFinal: server.final(saslData(final, false)).serverFinal };
}

describe('PostgreSQL upstream authentication', () => {
  it('logs in with SCRAM-SHA-256 once the server proved it knows the password (and picks it over -PLUS)', async () => {
    const { a, weak } = auth();
    const { serverFinal } = await scramUpTo(a, PASSWORD);
    expect(a.request(R(12, Buffer.from(serverFinal)))).toBeNull();
    expect(a.done).toBe(false);
    expect(a.request(R(0))).toBeNull();
    expect(a.done).toBe(true);
    expect(weak).toEqual([]);
  });

  it('refuses AuthenticationOk that comes without the SCRAM server signature, even on a target that allows weak methods', async () => {
    for (const allowWeak of [false, true]) {
      const { a, weak } = auth({ allowWeak });
      await scramUpTo(a, PASSWORD);
      const f = failure(() => a.request(R(0)));
      expect(f.kind).toBe('server-auth-failed');
      expect(f.message).toMatch(/without proving it knows the password/);
      expect(weak).toEqual([]);
    }
  });

  it('refuses AuthenticationOk straight after the first SCRAM message', () => {
    const { a } = auth({ allowWeak: true });
    void a.request(R(10, cstr('SCRAM-SHA-256'), cstr('')));
    expect(failure(() => a.request(R(0))).kind).toBe('server-auth-failed');
  });

  it('refuses a wrong server signature (a server that does not know the password)', async () => {
    const { a } = auth({ allowWeak: true });
    const { serverFinal } = await scramUpTo(a, 'some other password');
    expect(serverFinal.startsWith('e=')).toBe(true);
    expect(failure(() => a.request(R(12, Buffer.from(serverFinal)))).kind).toBe('server-auth-failed');
    const b = auth().a;
    await scramUpTo(b, PASSWORD);
    const forged = 'v=' + Buffer.alloc(32, 7).toString('base64');
    const f = failure(() => b.request(R(12, Buffer.from(forged))));
    expect(f.message).toMatch(/SCRAM server signature is wrong/);
  });

  it('derives the SCRAM key off the event loop, whatever iteration count the server asks for', async () => {
    const { a } = auth();
    const first = a.request(R(10, cstr('SCRAM-SHA-256'), cstr(''))) as Buffer;
    const cnonce = /r=([^,]+)/.exec(saslData(first, true))![1]!;
    const t0 = performance.now();
    const final = a.request(R(11, Buffer.from(`r=${cnonce}xyz,s=${Buffer.alloc(16, 1).toString('base64')},i=1000000`)));
    const returnedAfter = performance.now() - t0;
    // A timer still fires while a million PBKDF2 rounds run (hundreds of ms of CPU).
    const timerAfter = await new Promise<number>((resolve) => setTimeout(() => resolve(performance.now() - t0), 1));
    expect(final).toBeInstanceOf(Promise);
    const msg = await final;
    const doneAfter = performance.now() - t0;
    expect(saslData(msg!, false)).toMatch(/^c=biws,r=.*xyz,p=/);
    // Compared with the work itself, not a fixed time a loaded machine's pause could pass.
    expect(returnedAfter).toBeLessThan(doneAfter / 4);
    expect(timerAfter).toBeLessThan(doneAfter);
  });

  it('refuses a server-first message that does not extend the gateway nonce', () => {
    const { a } = auth();
    const first = a.request(R(10, cstr('SCRAM-SHA-256'), cstr(''))) as Buffer;
    const cnonce = /r=([^,]+)/.exec(saslData(first, true))![1]!;
    expect(() => a.request(R(11, Buffer.from(`r=${cnonce},s=${Buffer.alloc(16).toString('base64')},i=4096`)))).toThrow(/server-first/);
  });

  it('refuses a SCRAM iteration count below 4096 without verified TLS: an impostor choosing i=1 would get a proof it can test guesses against at one HMAC each', () => {
    const serverFirst = (a: PgUpstreamAuth, i: number): string => {
      const first = a.request(R(10, cstr('SCRAM-SHA-256'), cstr(''))) as Buffer;
      const cnonce = /r=([^,]+)/.exec(saslData(first, true))![1]!;
      return `r=${cnonce}xyz,s=${Buffer.alloc(16, 1).toString('base64')},i=${i}`;
    };
    const plain = auth();
    const f = failure(() => plain.a.request(R(11, Buffer.from(serverFirst(plain.a, 1)))));
    expect(f.kind).toBe('weak-auth');
    expect(f.message).toMatch(/iteration/);
    expect(f.message).not.toContain(PASSWORD);
    const optedIn = auth({ allowWeak: true });
    expect(optedIn.a.request(R(11, Buffer.from(serverFirst(optedIn.a, 1))))).toBeInstanceOf(Promise);
    expect(optedIn.weak).toEqual(['pg-scram-few-iterations']);
    const verified = auth({ tls: 'verify-full' });
    expect(verified.a.request(R(11, Buffer.from(serverFirst(verified.a, 1))))).toBeInstanceOf(Promise);
    expect(verified.weak).toEqual([]);
    const normal = auth();
    expect(normal.a.request(R(11, Buffer.from(serverFirst(normal.a, 4096))))).toBeInstanceOf(Promise);
  });

  it('refuses cleartext and MD5 before sending anything, naming the risk and the opt-in, without the password', () => {
    for (const [req, words] of [[R(3), /cleartext password authentication, which would reveal the vaulted password/],
      [R(5, Buffer.from([1, 2, 3, 4])), /MD5 password authentication/]] as const) {
      const { a, weak } = auth();
      const f = failure(() => a.request(req));
      expect(f.kind).toBe('weak-auth');
      expect(f.message).toMatch(words);
      expect(f.message).toMatch(/--allow-weak-upstream-auth/);
      expect(f.message).not.toContain(PASSWORD);
      expect(weak).toEqual([]);
    }
  });

  it('answers cleartext and MD5 on a target that opted in, reporting the method first', () => {
    const clear = auth({ allowWeak: true });
    const m = clear.a.request(R(3)) as Buffer;
    expect(clear.weak).toEqual(['pg-cleartext']);
    expect(m.toString('utf8')).toContain(PASSWORD);
    expect(clear.a.request(R(0))).toBeNull();
    expect(clear.a.done).toBe(true);
    const md5 = auth({ allowWeak: true });
    const h = md5.a.request(R(5, Buffer.from([1, 2, 3, 4]))) as Buffer;
    expect(md5.weak).toEqual(['pg-md5']);
    expect(h.toString('latin1')).toMatch(/md5[0-9a-f]{32}/);
  });

  it('treats a login without any authentication as weak unless TLS verified the server', () => {
    const plain = auth();
    expect(failure(() => plain.a.request(R(0))).message).toMatch(/without any authentication/);
    const verified = auth({ tls: 'verify-full' });
    expect(verified.a.request(R(0))).toBeNull();
    expect(verified.weak).toEqual([]);
    const optedIn = auth({ allowWeak: true });
    void optedIn.a.request(R(0));
    expect(optedIn.weak).toEqual(['pg-no-authentication']);
  });

  it('refuses SCRAM-SHA-256-PLUS alone, unknown mechanisms and methods, and messages out of order', () => {
    expect(failure(() => auth().a.request(R(10, cstr('SCRAM-SHA-256-PLUS'), cstr('')))).message).toMatch(/only SCRAM-SHA-256-PLUS/);
    expect(failure(() => auth().a.request(R(10, cstr('OAUTHBEARER'), cstr('')))).kind).toBe('auth-unsupported');
    expect(failure(() => auth({ allowWeak: true }).a.request(R(7))).kind).toBe('auth-unsupported');
    expect(failure(() => auth().a.request(R(12, Buffer.from('v=abc')))).kind).toBe('protocol');
    expect(failure(() => auth().a.request(R(11, Buffer.from('r=x,s=y,i=1')))).kind).toBe('protocol');
    const many = Array.from({ length: 17 }, (_, i) => cstr(`M${i}`));
    expect(failure(() => auth().a.request(R(10, ...many, cstr('')))).message).toMatch(/too many SASL mechanisms/);
    const { a } = auth({ allowWeak: true });
    void a.request(R(3));
    expect(failure(() => a.request(R(3))).kind).toBe('protocol');
  });
});
