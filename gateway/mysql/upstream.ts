// The upstream leg to a MySQL or MariaDB target: read its greeting, TLS when the target is
// configured for it (SSL request packet, which carries no user name, then the handshake verified by
// net/upstream-tls.ts before the HandshakeResponse: a pinned fingerprint or a CA), a HandshakeResponse
// with the capabilities the client chose (so both legs frame the command phase the same way), then
// authentication with the vaulted password as upstream-auth.ts allows: challenge-response always;
// the password itself only over verified TLS, to a pinned RSA key, or where the target opted in to
// weak authentication. The password is wiped once the login is done.
import { connect as tcpConnect, type Socket } from 'node:net';
import { UpstreamTlsError, verifiedTls } from '../net/upstream-tls.js';
import { settingsProblem, tlsSettingsOf } from '../net/tls-verdict.js';
import { UpstreamFailure as DbUpstreamFailure } from '../session/upstream-failure.js';
import type { TargetRecord } from '../session/adapter.js';
import type { UpstreamCredential as CheckedOutCredential } from '../session/credentials.js';
import { type WeakUpstreamAuth, upstreamAuthPolicy } from '../session/upstream-auth.js';
import { MyUpstreamAuth } from './upstream-auth.js';
import { CAP, has } from './wire/capabilities.js';
import { type Greeting, encodeHandshakeResponse, encodeSslRequest, parseGreeting } from './wire/handshake.js';
import { PacketQueue } from './packet-queue.js';
import { MyProtocolError, MyReader, packet, parseErr } from './wire/packets.js';

export interface MyUpstream {
  socket: Socket;
  greeting: Greeting;
  /** Status flags of the final OK. */
  status: number;
  rest: Buffer;
  /** How the target's TLS certificate was verified, or null without TLS. */
  tls: string | null;
}

// A backstop only: a session's connect deadline is the pipeline's (session.connectTimeout), which
// aborts `signal` and so destroys the socket; this bounds probes.
const TIMEOUT_MS = 60_000;
/** The greeting probe at start: short, and the listener does not wait for it. */
const PROBE_MS = 5_000;

/** Reads just the greeting (server version and capabilities) and hangs up. */
export async function probeGreeting(target: TargetRecord): Promise<Greeting> {
  const socket = await open(target, undefined, PROBE_MS);
  try {
    const q = new PacketQueue(socket, 1024 * 1024, () => new DbUpstreamFailure('unreachable', 'the target closed the connection during login'));
    return parseGreeting((await withTimeout(q.next(), target, PROBE_MS)).payload);
  } finally {
    socket.destroy();
  }
}

export interface MyUpstreamOptions {
  signal?: AbortSignal;
  /** Hears each weak authentication method the login uses (the target opted in); before it sends. */
  onWeakAuth?: (method: WeakUpstreamAuth) => void;
}

export async function connectMyUpstream(
  target: TargetRecord, cred: CheckedOutCredential, client: { caps: number; extCaps: number; charset: number; database: string | null },
  opts: MyUpstreamOptions = {},
): Promise<MyUpstream> {
  const { signal } = opts;
  let socket: Socket;
  const tls = tlsSettingsOf(target);
  try {
    // Settings that cannot verify the server open nothing at all.
    const problem = tls && settingsProblem(tls);
    if (problem) throw new DbUpstreamFailure('tls', problem);
    socket = await open(target, signal);
  } catch (err) {
    cred.wipe();
    throw err;
  }
  // Whatever holds the leg now (the raw socket, then TLS) is destroyed on abort; the pending read
  // then fails as a closed connection.
  const onAbort = (): void => { socket.destroy(); };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const q = new PacketQueue(socket, 1024 * 1024, () => new DbUpstreamFailure('unreachable', 'the target closed the connection during login'));
    const hello = await withTimeout(q.next(), target);
    if (hello.payload[0] === 0xff) throw new DbUpstreamFailure('refused', `${target.name} refused the connection: ${parseErr(hello.payload).message}`);
    const greeting = parseGreeting(hello.payload);
    const useTls = tls !== null;
    let tlsDetail: string | null = null;
    if (useTls && !has(greeting.caps, CAP.SSL)) throw new DbUpstreamFailure('tls', `${target.name} does not offer TLS, but the target requires it`);
    let caps = (client.caps | CAP.PROTOCOL_41 | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA) & greeting.caps;
    // Query attributes would put client-chosen bytes before a COM_QUERY's text, where the KILL
    // check reads SQL: never negotiated, even if a client asks for it against our greeting.
    caps &= ~(CAP.SSL | CAP.COMPRESS | CAP.ZSTD | CAP.CONNECT_ATTRS | CAP.LOCAL_FILES | CAP.MULTI_FACTOR_AUTH | CAP.SSL_VERIFY_SERVER_CERT | CAP.QUERY_ATTRIBUTES);
    if (client.database) caps |= CAP.CONNECT_WITH_DB; else caps &= ~CAP.CONNECT_WITH_DB;
    let seq = 1;
    if (tls) {
      caps |= CAP.SSL;
      socket.write(packet(seq++, encodeSslRequest(caps, client.extCaps & greeting.extCaps, client.charset)));
      // Bytes queued behind the greeting came before encryption: an injection, not the server.
      if (q.detach().length > 0) throw new DbUpstreamFailure('tls', `${target.name} sent unencrypted data before the TLS handshake`);
      try {
        const v = await verifiedTls(socket, tls);
        socket = v.socket;
        tlsDetail = v.verdict.detail;
      } catch (e) {
        throw new DbUpstreamFailure('tls', e instanceof UpstreamTlsError ? e.message : `TLS to ${target.name} failed`);
      }
      q.switchTo(socket);
    }
    const auth = new MyUpstreamAuth(upstreamAuthPolicy(target, opts.onWeakAuth), cred.secret, useTls);
    const first = auth.start(greeting.plugin, greeting.nonce);
    socket.write(packet(seq++, encodeHandshakeResponse({
      caps, extCaps: client.extCaps & greeting.extCaps, maxPacket: 0x1000000, charset: client.charset, user: cred.account,
      authResponse: first.response, database: client.database, plugin: first.plugin,
    })));
    for (;;) {
      const p = await withTimeout(q.next(), target);
      seq = p.seq + 1;
      const kind = p.payload[0];
      if (kind === 0x00) {
        const r = new MyReader(p.payload);
        r.u8(); r.lenenc(); r.lenenc();
        const status = r.remaining >= 2 ? r.u16() : 0;
        return { socket, greeting, status, rest: q.detach(), tls: tlsDetail };
      }
      if (kind === 0xff) {
        const e = parseErr(p.payload);
        const denied = e.code === 1045 || e.code === 1698;
        throw new DbUpstreamFailure(denied ? 'auth-failed' : 'refused', denied ? `${target.name} refused the vaulted credential` : `${target.name}: ${e.message}`, String(e.code));
      }
      if (kind === 0xfe) {
        // AuthSwitchRequest: another plugin and a fresh nonce.
        socket.write(packet(seq, auth.switchTo(p.payload)));
      } else if (kind === 0x01) {
        const reply = auth.moreData(p.payload.subarray(1));
        if (reply) socket.write(packet(seq, reply));
      } else {
        throw new MyProtocolError(`unexpected packet 0x${(kind ?? 0).toString(16)} during login`);
      }
    }
  } catch (err) {
    socket.destroy();
    if (err instanceof DbUpstreamFailure) throw err;
    throw new DbUpstreamFailure('protocol', `unexpected reply from ${target.name} during login`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    cred.wipe();
  }
}

function open(target: TargetRecord, signal?: AbortSignal, ms = TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: target.host, port: target.port });
    s.setNoDelay(true);
    const onAbort = (): void => { clearTimeout(timer); s.destroy(); reject(new DbUpstreamFailure('unreachable', `cannot connect to ${target.name} (gave up)`)); };
    signal?.addEventListener('abort', onAbort, { once: true });
    s.once('close', () => signal?.removeEventListener('abort', onAbort));
    const timer = setTimeout(() => { s.destroy(); reject(new DbUpstreamFailure('unreachable', `cannot connect to ${target.name} (timed out)`)); }, ms);
    s.once('connect', () => { clearTimeout(timer); resolve(s); });
    s.once('error', () => { clearTimeout(timer); reject(new DbUpstreamFailure('unreachable', `cannot connect to ${target.name}`)); });
  });
}

function withTimeout<T>(p: Promise<T>, target: TargetRecord, ms = TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new DbUpstreamFailure('unreachable', `${target.name} did not finish the login in time`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}
