// SCRAM-SHA-256 exchanges (RFC 5802/7677) as PostgreSQL uses them, sans-I/O: strings in, strings
// out. ScramServer authenticates clients to the gateway against a stored verifier; ScramClient
// authenticates the gateway to the target with the vaulted password. No channel binding is
// offered (the gateway terminates TLS itself), so "p=" GS2 headers are refused.
import { createHmac, randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { isDecoy } from '../../access/login-decoys.js';
import { type ScramKeys, saltedPasswordSync, scramKeysFromSalted } from '../../access/scram-verifier.js';
import { PgProtocolError } from './frames.js';

const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((x, i) => x ^ b[i]!));
const nonce = (): string => randomBytes(18).toString('base64');

function attrs(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

export class ScramServer {
  private clientFirstBare = '';
  private serverFirst = '';
  private combinedNonce = '';
  private gs2 = '';

  /** With decoy keys (unknown user, nothing to check) the exchange runs the same and always fails. */
  constructor(private readonly keys: ScramKeys) {}

  first(clientFirst: string): string {
    const m = /^([ny]),([^,]*),(.*)$/.exec(clientFirst);
    if (!m) throw new PgProtocolError('malformed SCRAM client-first-message (channel binding is not supported)');
    this.gs2 = `${m[1]},${m[2]},`;
    this.clientFirstBare = m[3]!;
    const cnonce = attrs(this.clientFirstBare).get('r');
    if (!cnonce || cnonce.length > 256) throw new PgProtocolError('SCRAM client nonce missing');
    this.combinedNonce = cnonce + nonce();
    const k = this.keys;
    this.serverFirst = `r=${this.combinedNonce},s=${k.salt.toString('base64')},i=${k.iterations}`;
    return this.serverFirst;
  }

  final(clientFinal: string): { ok: boolean; serverFinal: string } {
    const a = attrs(clientFinal);
    const proofB64 = a.get('p');
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    if (!proofB64 || a.get('r') !== this.combinedNonce || a.get('c') !== Buffer.from(this.gs2).toString('base64')) {
      return { ok: false, serverFinal: 'e=invalid-proof' };
    }
    const k = this.keys;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const proof = Buffer.from(proofB64, 'base64');
    if (proof.length !== 32) return { ok: false, serverFinal: 'e=invalid-proof' };
    const clientKey = xor(proof, hmac(k.storedKey, authMessage));
    const ok = timingSafeEqual(createHash('sha256').update(clientKey).digest(), k.storedKey) && !isDecoy(k);
    return { ok, serverFinal: ok ? `v=${hmac(k.serverKey, authMessage).toString('base64')}` : 'e=invalid-proof' };
  }
}

export class ScramClient {
  private readonly cnonce = nonce();
  private clientFirstBare = '';
  private expectedServerSig: Buffer | null = null;

  constructor(private readonly password: string) {}

  first(): string {
    // PostgreSQL ignores the SCRAM user name and uses the startup user.
    this.clientFirstBare = `n=*,r=${this.cnonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  final(serverFirst: string): string {
    const { salt, iterations } = this.serverParams(serverFirst);
    // Synchronous: for tests and tools; the gateway's upstream login derives it off the event loop
    // (postgres/upstream-auth.ts) and calls finalWith.
    const salted = saltedPasswordSync(this.password, salt, iterations);
    try {
      return this.finalWith(serverFirst, salted);
    } finally {
      salted.fill(0);
    }
  }

  /** The salt and iteration count a server-first message asks for, checked (derive the salted password from them). */
  serverParams(serverFirst: string): { salt: Buffer; iterations: number } {
    const a = attrs(serverFirst);
    const r = a.get('r');
    const s = a.get('s');
    const i = Number(a.get('i'));
    // The server must extend our nonce (RFC 5802 §5.1), else it could replay an old exchange.
    if (!r || r.length <= this.cnonce.length || !r.startsWith(this.cnonce) || !s || !Number.isInteger(i) || i < 1 || i > 10_000_000) {
      throw new PgProtocolError('malformed SCRAM server-first-message from the target');
    }
    return { salt: Buffer.from(s, 'base64'), iterations: i };
  }

  /** The client-final message, given the salted password for `serverParams(serverFirst)`. */
  finalWith(serverFirst: string, salted: Buffer): string {
    const r = attrs(serverFirst).get('r')!;
    const { clientKey, storedKey, serverKey } = scramKeysFromSalted(salted);
    const withoutProof = `c=biws,r=${r}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    this.expectedServerSig = hmac(serverKey, authMessage);
    return `${withoutProof},p=${xor(clientKey, hmac(storedKey, authMessage)).toString('base64')}`;
  }

  /** The server's proof that it knows the password: its signature, compared in constant time. */
  verify(serverFinal: string): boolean {
    const v = attrs(serverFinal).get('v');
    if (!v || !this.expectedServerSig) return false;
    const got = Buffer.from(v, 'base64');
    return got.length === this.expectedServerSig.length && timingSafeEqual(got, this.expectedServerSig);
  }
}
