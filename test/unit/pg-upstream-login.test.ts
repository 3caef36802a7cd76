// The PostgreSQL upstream login (postgres/upstream.ts with upstream-auth.ts) against an in-process
// server that knows the password, with the server's last flight (SASLFinal, AuthenticationOk,
// ParameterStatus, BackendKeyData, ReadyForQuery and an asynchronous notice after it) cut at every
// byte: the login completes with the same parameters, key and leftover bytes at each cut. The same
// flight without the SASLFinal is refused at each cut. A real server is in the e2e tests; here the
// point is where TCP happens to split the bytes.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeScramVerifier, parseScramVerifier } from '../../gateway/access/scram-verifier.js';
import { connectPgUpstream } from '../../gateway/postgres/upstream.js';
import { ScramServer } from '../../gateway/postgres/wire/scram.js';
import { UpstreamFailure } from '../../gateway/session/upstream-failure.js';
import type { TargetRecord } from '../../gateway/store/records.js';

const PASSWORD = 'Split-Point-Canary-9';
const VERIFIER = parseScramVerifier(await makeScramVerifier(PASSWORD, 4096))!;
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
const TAIL = Buffer.concat([
  msg('R', int32(0)), msg('S', Buffer.from('server_version\x0015.4\x00')), msg('K', int32(77), int32(88)), msg('Z', Buffer.from('I')),
]);
const NOTICE = msg('A', int32(1), Buffer.from('chan\x00hello\x00'));

let server: Server;
let port = 0;
/** How the next connection's last flight is built and cut. */
let plan: { cut: number; withFinal: boolean } = { cut: 0, withFinal: true };

function serve(s: Socket): void {
  const { cut, withFinal } = plan;
  let buf = Buffer.alloc(0);
  let step = 0;
  const scram = new ScramServer(VERIFIER);
  s.on('error', () => {});
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (step === 0) {
        if (buf.length < 4 || buf.length < buf.readInt32BE(0)) return;
        buf = buf.subarray(buf.readInt32BE(0));
        s.write(msg('R', int32(10), Buffer.from('SCRAM-SHA-256\0\0')));
        step = 1;
        continue;
      }
      if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) return;
      const body = buf.subarray(5, 1 + buf.readInt32BE(1));
      buf = buf.subarray(1 + buf.readInt32BE(1));
      if (step === 1) {
        const mechEnd = body.indexOf(0);
        s.write(msg('R', int32(11), Buffer.from(scram.first(body.toString('utf8', mechEnd + 5)))));
        step = 2;
      } else if (step === 2) {
        const { serverFinal } = scram.final(body.toString('utf8'));
        const flight = Buffer.concat([withFinal ? msg('R', int32(12), Buffer.from(serverFinal)) : Buffer.alloc(0), TAIL, NOTICE]);
        s.write(flight.subarray(0, cut));
        setTimeout(() => { if (!s.destroyed) s.write(flight.subarray(cut)); }, 3);
        step = 3;
      } else {
        return;
      }
    }
  });
}

const target: TargetRecord = {
  id: 'tgt_split', name: 'split-db', kind: 'postgres', host: '127.0.0.1', port: 0, account: 'app', credentialKind: 'password', credentialSealed: '',
  hostKey: null, database: 'app', tlsMode: 'disable', tlsCaPem: null, tlsFingerprint: null, allowWeakUpstreamAuth: false, rsaKeyFingerprint: null, tags: [], credentialMode: 'static', levels: [{ name: 'default', grants: [] }], rotate: 'off', ephemeralReassignTo: null, ephemeralKeepHome: false, pendingCredentialSealed: null, rotatedAt: null, createdAt: 0,
};
const cred = (): Parameters<typeof connectPgUpstream>[1] => ({ kind: 'password', account: 'app', secret: Buffer.from(PASSWORD), wipe: () => {} });

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  port = typeof a === 'object' && a ? a.port : 0;
});
afterAll(() => { server.close(); });

describe('PostgreSQL upstream login, split at every byte', () => {
  it('completes with the same parameters, key and leftover bytes wherever the last flight is cut', async () => {
    const finalLen = 5 + 4 + 'v='.length + 44;
    for (let cut = 0; cut <= finalLen + TAIL.length + NOTICE.length; cut++) {
      plan = { cut, withFinal: true };
      const up = await connectPgUpstream({ ...target, port }, cred(), { database: 'app' });
      up.socket.destroy();
      expect({ cut, parameters: up.parameters, pid: up.pid, key: up.key.toString('hex'), status: up.status }).toEqual({
        cut, parameters: [['server_version', '15.4']], pid: 77, key: int32(88).toString('hex'), status: 'I',
      });
      // The notice after ReadyForQuery is handed on whole, never lost in the cut (later bytes come on the socket).
      expect(NOTICE.subarray(0, up.rest.length).equals(up.rest)).toBe(true);
    }
  }, 60_000);

  it('refuses AuthenticationOk without the SASLFinal wherever the flight is cut', async () => {
    for (let cut = 0; cut <= TAIL.length; cut++) {
      plan = { cut, withFinal: false };
      const err = await connectPgUpstream({ ...target, port }, cred(), { database: 'app' }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamFailure);
      expect((err as UpstreamFailure).kind).toBe('server-auth-failed');
    }
  }, 60_000);
});
