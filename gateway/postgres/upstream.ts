// The upstream leg to a PostgreSQL target: TCP, TLS when the target is configured for it
// (SSLRequest, then the handshake verified by net/upstream-tls.ts before the StartupMessage or
// anything else is sent: a pinned fingerprint or a CA), a StartupMessage as the vaulted
// account, then authentication with the vaulted password as upstream-auth.ts allows (SCRAM-SHA-256
// with the server's signature checked; cleartext and MD5 only where the target opted in), up to
// ReadyForQuery. Returns the socket with the parameters and backend key the target sent and any
// bytes that came after ReadyForQuery. The password is wiped once the login is done.
import { connect as tcpConnect, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { UpstreamTlsError, verifiedTls } from '../net/upstream-tls.js';
import { settingsProblem, tlsSettingsOf } from '../net/tls-verdict.js';
import { UpstreamFailure as DbUpstreamFailure } from '../session/upstream-failure.js';
import type { TargetRecord } from '../session/adapter.js';
import type { UpstreamCredential as CheckedOutCredential } from '../session/credentials.js';
import { type WeakUpstreamAuth, upstreamAuthPolicy } from '../session/upstream-auth.js';
import { PgUpstreamAuth } from './upstream-auth.js';
import { PgProtocolError, PgReader } from './wire/frames.js';
import { parseErrorFields } from './wire/server-messages.js';

export interface UpstreamReady {
  socket: Socket;
  parameters: Array<[string, string]>;
  pid: number;
  key: Buffer;
  status: 'I' | 'T' | 'E';
  /** Bytes received after ReadyForQuery (asynchronous messages), to relay first. */
  rest: Buffer;
  /** How the target's TLS certificate was verified, or null without TLS. */
  tls: string | null;
}

export type PgFailureKind = 'unreachable' | 'tls' | 'auth-failed' | 'refused' | 'protocol';

export interface PgUpstreamOptions {
  signal?: AbortSignal;
  /** Hears each weak authentication method the login uses (the target opted in); before it sends. */
  onWeakAuth?: (method: WeakUpstreamAuth) => void;
}

export class PgUpstreamError extends DbUpstreamFailure {
  constructor(kind: PgFailureKind, message: string, sqlstate?: string) {
    super(kind, message, sqlstate);
  }
}

// A backstop only: a session's connect deadline is the pipeline's (session.connectTimeout), which
// aborts `signal` and so destroys the socket; this bounds callers without one (probes).
const TIMEOUT_MS = 60_000;
const MAX_HANDSHAKE = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export async function connectPgUpstream(target: TargetRecord, cred: CheckedOutCredential, params: Record<string, string>, opts: PgUpstreamOptions = {}): Promise<UpstreamReady> {
  const { signal } = opts;
  let socket: Socket | null = null;
  // Whatever holds the leg now (the raw socket, then TLS) is destroyed on abort; the pending step
  // then fails on its own close/error.
  const onAbort = (): void => { socket?.destroy(); };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const opened = await openSocket(target, signal);
    socket = opened.socket;
    if (signal?.aborted) throw new PgUpstreamError('unreachable', `cannot connect to ${target.name} (gave up)`);
    socket.write(serialize.startup({ user: cred.account, ...params }));
    const auth = new PgUpstreamAuth(upstreamAuthPolicy(target, opts.onWeakAuth), cred.account, () => cred.secret.toString('utf8'));
    return { ...(await authenticate(socket, target, auth)), tls: opened.tls };
  } catch (err) {
    socket?.destroy();
    throw err instanceof DbUpstreamFailure ? err : new PgUpstreamError('protocol', `unexpected reply from ${target.name}`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    cred.wipe();
  }
}

/** TCP, then (unless disabled) TLS verified before anything else is written; refused settings open nothing. */
function openSocket(target: TargetRecord, signal?: AbortSignal): Promise<{ socket: Socket; tls: string | null }> {
  const tls = tlsSettingsOf(target);
  const problem = tls && settingsProblem(tls);
  if (problem) return Promise.reject(new PgUpstreamError('tls', problem));
  return new Promise((resolve, reject) => {
    const raw = tcpConnect({ host: target.host, port: target.port });
    raw.setNoDelay(true);
    const onAbort = (): void => { clearTimeout(timer); raw.destroy(); reject(new PgUpstreamError('unreachable', `cannot connect to ${target.name} (gave up)`)); };
    signal?.addEventListener('abort', onAbort, { once: true });
    raw.once('close', () => signal?.removeEventListener('abort', onAbort));
    const timer = setTimeout(() => { raw.destroy(); reject(new PgUpstreamError('unreachable', `cannot connect to ${target.name} (timed out)`)); }, TIMEOUT_MS);
    raw.once('error', () => { clearTimeout(timer); reject(new PgUpstreamError('unreachable', `cannot connect to ${target.name}`)); });
    raw.once('connect', () => {
      if (!tls) { clearTimeout(timer); resolve({ socket: raw, tls: null }); return; }
      raw.write(serialize.requestSsl());
      raw.once('data', (b: Buffer) => {
        // Anything after the 'S' arrived before encryption: a man in the middle's injection
        // (CVE-2021-23222), never to be read as if the TLS server had said it.
        if (b[0] !== 0x53 /* S */ || b.length !== 1) {
          clearTimeout(timer);
          raw.destroy();
          reject(new PgUpstreamError('tls', b[0] === 0x53 ? `${target.name} sent unencrypted data after accepting TLS` : `${target.name} does not accept TLS, but the target requires it`));
          return;
        }
        verifiedTls(raw, tls).then(
          (v) => { clearTimeout(timer); resolve({ socket: v.socket, tls: v.verdict.detail }); },
          (e: unknown) => { clearTimeout(timer); raw.destroy(); reject(new PgUpstreamError('tls', e instanceof UpstreamTlsError ? e.message : `TLS to ${target.name} failed`)); },
        );
      });
    });
  });
}

function authenticate(socket: Socket, target: TargetRecord, auth: PgUpstreamAuth): Promise<UpstreamReady> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const parameters: Array<[string, string]> = [];
    let pid = 0;
    let key = Buffer.alloc(0);
    // While the SCRAM key is derived off the event loop, what arrives waits in `buf`.
    let deriving = false;
    let over = false;
    const fail = (e: DbUpstreamFailure): void => { cleanup(); reject(e); };
    const timer = setTimeout(() => fail(new PgUpstreamError('unreachable', `${target.name} did not finish the login in time`)), TIMEOUT_MS);
    const cleanup = (): void => {
      over = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = (): void => fail(new PgUpstreamError('unreachable', `connection to ${target.name} failed`));
    const onClose = (): void => fail(new PgUpstreamError('unreachable', `${target.name} closed the connection during login`));
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_HANDSHAKE) return fail(new PgUpstreamError('protocol', `${target.name} sent too much during login`));
      if (deriving) return;
      let off = 0;
      try {
        while (buf.length - off >= 5) {
          const type = String.fromCharCode(buf[off]!);
          const len = buf.readInt32BE(off + 1);
          if (len < 4) throw new PgProtocolError('bad length');
          if (buf.length - off < 1 + len) break;
          const body = buf.subarray(off + 5, off + 1 + len);
          off += 1 + len;
          const r = new PgReader(body);
          switch (type) {
            case 'R': {
              const reply = auth.request(body);
              if (reply instanceof Promise) {
                deriving = true;
                buf = buf.subarray(off);
                reply.then((b) => {
                  deriving = false;
                  if (over) return;
                  socket.write(b);
                  onData(EMPTY);
                }, (e: unknown) => fail(e instanceof DbUpstreamFailure ? e : new PgUpstreamError('protocol', `${target.name} sent a malformed login reply`)));
                return;
              }
              if (reply) socket.write(reply);
              break;
            }
            // Parameters and the key only count after the login (a server that sends them first
            // has not authenticated; it gets nowhere, as ReadyForQuery is refused then too).
            case 'S': parameters.push([r.cstring(), r.cstring()]); break;
            case 'K': pid = r.int32(); key = Buffer.from(r.rest()); break;
            case 'N': break;
            case 'v': break;
            case 'E': {
              const f = parseErrorFields(body);
              const auth = f.C === '28P01' || f.C === '28000';
              throw new PgUpstreamError(auth ? 'auth-failed' : 'refused', auth ? `${target.name} refused the vaulted credential` : `${target.name} refused the connection: ${f.M ?? ''}`, f.C);
            }
            case 'Z': {
              if (!auth.done) throw new PgUpstreamError('protocol', `${target.name} sent ReadyForQuery before authentication finished`);
              const status = String.fromCharCode(body[0] ?? 0x49) as UpstreamReady['status'];
              cleanup();
              resolve({ socket, parameters, pid, key, status, rest: Buffer.from(buf.subarray(off)), tls: null });
              return;
            }
            default:
              throw new PgProtocolError(`unexpected message ${type} during login`);
          }
        }
        buf = buf.subarray(off);
      } catch (e) {
        fail(e instanceof DbUpstreamFailure ? e : new PgUpstreamError('protocol', `${target.name} sent a malformed login reply`));
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}
