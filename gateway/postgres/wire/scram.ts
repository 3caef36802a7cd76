// SCRAM-SHA-256 exchanges (RFC 5802/7677) as PostgreSQL uses them, sans-I/O: strings in, strings
// out. ScramServer authenticates clients to the gateway against a stored verifier; ScramClient
// authenticates the gateway to the target with the vaulted password. No channel binding is
// offered (the gateway terminates TLS itself), so "p=" GS2 headers are refused.
import { createHmac, randomBytes, timingSafeEqual, createHash } from 'node:crypto';
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

  /** With `keys` null (unknown user) the exchange runs against random keys and always fails. */
  constructor(private readonly keys: ScramKeys | null) {}

  first(clientFirst: string): string {
    const m = /^([ny]),([^,]*),(.*)$/.exec(clientFirst);
    if (!m) throw new PgProtocolError('malformed SCRAM client-first-message (channel binding is not supported)');
    this.gs2 = `${m[1]},${m[2]},`;
    this.clientFirstBare = m[3]!;
    const cnonce = attrs(this.clientFirstBare).get('r');
    if (!cnonce || cnonce.length > 256) throw new PgProtocolError('SCRAM client nonce missing');
    this.combinedNonce = cnonce + nonce();
    const k = this.keys ?? fakeKeys();
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
    const k = this.keys ?? fakeKeys();
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const proof = Buffer.from(proofB64, 'base64');
    if (proof.length !== 32) return { ok: false, serverFinal: 'e=invalid-proof' };
    const clientKey = xor(proof, hmac(k.storedKey, authMessage));
    const ok = this.keys !== null && timingSafeEqual(createHash('sha256').update(clientKey).digest(), k.storedKey);
    return { ok, serverFinal: ok ? `v=${hmac(k.serverKey, authMessage).toString('base64')}` : 'e=invalid-proof' };
  }
}

// One random verifier per process: unknown users see a stable salt, like real ones.
let fake: ScramKeys | null = null;
function fakeKeys(): ScramKeys {
  fake ??= { iterations: 16384, salt: randomBytes(16), storedKey: randomBytes(32), serverKey: randomBytes(32) };
  return fake;
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
    const a = attrs(serverFirst);
    const r = a.get('r');
    const s = a.get('s');
    const i = Number(a.get('i'));
    if (!r || !r.startsWith(this.cnonce) || !s || !Number.isInteger(i) || i < 1 || i > 10_000_000) {
      throw new PgProtocolError('malformed SCRAM server-first-message from the target');
    }
    const salted = saltedPasswordSync(this.password, Buffer.from(s, 'base64'), i);
    const { clientKey, storedKey, serverKey } = scramKeysFromSalted(salted);
    salted.fill(0);
    const withoutProof = `c=biws,r=${r}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    this.expectedServerSig = hmac(serverKey, authMessage);
    return `${withoutProof},p=${xor(clientKey, hmac(storedKey, authMessage)).toString('base64')}`;
  }

  verify(serverFinal: string): boolean {
    const v = attrs(serverFinal).get('v');
    if (!v || !this.expectedServerSig) return false;
    const got = Buffer.from(v, 'base64');
    return got.length === this.expectedServerSig.length && timingSafeEqual(got, this.expectedServerSig);
  }
}
