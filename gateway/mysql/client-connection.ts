// One client connection to the MySQL listener: the greeting (the target's real server version and
// capabilities, learned by probing), TLS, authentication against the gateway account —
// caching_sha2_password with full authentication over TLS, or mysql_native_password for old
// clients — then the shared database session flow, the upstream login and the relay. Refusals are
// MySQL error packets with real codes and a message that says what to do.
import { constants, type KeyObject, privateDecrypt, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Authenticator } from '../access/authn.js';
import type { Logger } from '../log/logger.js';
import { DbUpstreamFailure, type DbSessionDeps, openDbSession } from '../session/db-session.js';
import { parsePrincipal } from '../session/principal.js';
import type { TerminationReason } from '../session/termination.js';
import type { UserRecord } from '../store/records.js';
import { isPortcullisError } from '../util/errors.js';
import type { ConnectionIds } from './connection-ids.js';
import { PacketQueue } from './packet-queue.js';
import { MyRelay } from './relay.js';
import { MyStatementLog } from './statement-log.js';
import { connectMyUpstream } from './upstream.js';
import type { GreetingCache } from './greeting-cache.js';
import { checkNative } from './wire/auth-scramble.js';
import { CAP, has } from './wire/capabilities.js';
import { encodeGreeting, parseHandshakeResponse } from './wire/handshake.js';
import { MyProtocolError, errPacket, okPacket, packet } from './wire/packets.js';

export interface MyDeps extends DbSessionDeps {
  authn: Authenticator;
  log: Logger;
  tls: { cert: string; key: string };
  allowPlaintext: boolean;
  ids: ConnectionIds;
  greetings: GreetingCache;
  maxPacket: number;
  handshakeTimeoutMs: number;
  /** For caching_sha2_password full authentication without TLS (plaintext development mode). */
  rsa: { publicKeyPem: string; privateKey: KeyObject };
}

function xorNonce(data: Buffer, nonce: Buffer): Buffer {
  return Buffer.from(data.map((b, i) => b ^ nonce[i % nonce.length]!));
}

class Refusal extends Error {
  constructor(readonly code: number, readonly sqlstate: string, message: string) {
    super(message);
  }
}

/** 20 printable bytes: some clients mishandle NULs in the nonce. */
function nonce(): Buffer {
  return Buffer.from(randomBytes(20).map((b) => 0x21 + (b % 0x5e)));
}

export async function handleMyConnection(deps: MyDeps, raw: Socket): Promise<void> {
  const addr = raw.remoteAddress ?? 'unknown';
  const log = deps.log.child({ addr });
  let socket: Socket = raw;
  let seq = 0;
  const id = deps.ids.allocate();
  const timer = setTimeout(() => { log.info({}, 'mysql.handshake_timeout'); socket.destroy(); }, deps.handshakeTimeoutMs);
  raw.on('error', () => {});
  const packets = new PacketQueue(raw, 64 * 1024, () => new MyProtocolError('client closed the connection during the handshake'));
  const send = (payload: Buffer): void => { socket.write(packet(++seq, payload)); };
  const recv = async (): Promise<Buffer> => {
    const p = await packets.next();
    if (p.seq !== (seq + 1) % 256) throw new MyProtocolError(`packet out of order (got ${p.seq}, expected ${seq + 1})`);
    seq = p.seq;
    return p.payload;
  };
  try {
    const g = deps.greetings.forClients();
    const scramble = nonce();
    socket.write(packet(0, encodeGreeting({ ...g, connectionId: id, nonce: scramble, plugin: 'caching_sha2_password' })));
    let resp = parseHandshakeResponse(await recv());
    if (resp.sslRequest) {
      if (!has(resp.caps, CAP.SSL)) throw new Refusal(1043, '08S01', 'Bad handshake');
      // Clients send their TLS ClientHello right behind the SSLRequest, without waiting: bytes
      // already read go back into the socket, where the TLS layer picks them up.
      const early = packets.detach();
      raw.pause();
      if (early.length > 0) raw.unshift(early);
      const tls = new TLSSocket(raw, { isServer: true, cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2' });
      tls.on('error', () => {});
      socket = tls;
      packets.switchTo(tls);
      resp = parseHandshakeResponse(await recv());
    }
    const secure = socket instanceof TLSSocket;
    if (!secure && !deps.allowPlaintext) {
      throw new Refusal(3159, 'HY000', 'Portcullis requires TLS: connect with --ssl (mysql/mariadb) or ssl-mode=REQUIRED');
    }
    const principal = parsePrincipal(resp.user);
    if (!principal || principal.target === null) {
      throw new Refusal(1045, '28000', 'connect as USER+TARGET, for example: mysql -h gateway -P 13306 -u dba+shop-db -p --ssl');
    }
    const target = principal.target;

    let user: UserRecord;
    if (resp.plugin === 'mysql_native_password' || (resp.plugin === null && !has(resp.caps, CAP.PLUGIN_AUTH))) {
      const verifier = await deps.authn.nativeBegin(principal.user, addr);
      let answer = resp.authResponse;
      if (answer.length === 0) {
        // libmariadb sends nothing when its plugin differs from the greeting's and waits for a switch.
        send(Buffer.concat([Buffer.from([0xfe]), Buffer.from('mysql_native_password\0'), scramble, Buffer.from([0])]));
        answer = await recv();
      }
      const ok = verifier !== null && checkNative(answer, scramble, verifier);
      user = await proof(deps, principal.user, addr, 'mysql-native', ok);
    } else {
      if (resp.plugin !== 'caching_sha2_password') {
        // AuthSwitchRequest to the plugin we speak, with the same nonce.
        send(Buffer.concat([Buffer.from([0xfe]), Buffer.from('caching_sha2_password\0'), scramble, Buffer.from([0])]));
        await recv();
      }
      // No password cache on the gateway: always ask for full authentication. Over TLS the client
      // sends the password itself; without TLS (development only) it asks for our RSA key first.
      send(Buffer.from([0x01, 0x04]));
      let answer = await recv();
      if (!secure && answer.length === 1 && answer[0] === 0x02) {
        send(Buffer.concat([Buffer.from([0x01]), Buffer.from(deps.rsa.publicKeyPem)]));
        answer = xorNonce(privateDecrypt({ key: deps.rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, await recv()), scramble);
      } else if (!secure) {
        throw new Refusal(3159, 'HY000', 'caching_sha2_password needs TLS or the RSA key exchange: connect with --ssl');
      }
      const password = answer.toString('utf8').replace(/\0$/, '');
      try {
        user = await deps.authn.dbPasswordLogin(principal.user, target, password, addr, 'mysql-caching-sha2');
      } catch (err) {
        if (isPortcullisError(err) && err.code === 'invalid-credentials') throw new Refusal(1045, '28000', `Access denied for user '${resp.user}' (using password: YES)`);
        throw err;
      }
    }

    let relay: MyRelay | null = null;
    const clientCaps = resp.caps;
    let opened;
    try {
      opened = await openDbSession(deps, {
        user, target, kind: 'mysql', addr,
        controls: {
          warn: (m) => relay?.warnOnNextStatement(m),
          close: (reason, message) => { if (relay) relay.cut(...errorFor(reason), message); else socket.destroy(); },
        },
      }, (auth, credential) => connectMyUpstream(auth.target, credential, {
        caps: clientCaps, extCaps: resp.extCaps, charset: resp.charset, database: resp.database ?? auth.target.database,
      }), (u) => u.socket.destroy());
    } catch (err) {
      if (!(err instanceof DbUpstreamFailure)) throw err;
      throw new Refusal(1105, 'HY000', `${err.message}; an admin can check the target with: portcullis target test ${target}`);
    }
    const { session, auth, upstream: up } = opened;
    deps.greetings.learn(up.greeting);
    deps.ids.bind(id, { userId: auth.user.id, targetId: auth.target.id, upstreamId: up.greeting.connectionId });
    session.onEnd(() => deps.ids.release(id));
    socket.write(okPacket(++seq, up.status, has(clientCaps, CAP.SESSION_TRACK)));
    clearTimeout(timer);
    const statements = new MyStatementLog(() => clientCaps, () => deps.clock.now(), (rec) => opened.record(rec));
    relay = new MyRelay(socket, up.socket, statements, deps.maxPacket, {
      killTarget: (gatewayId) => deps.ids.resolve(gatewayId, auth.user.id, auth.target.id),
      clientClosed: () => session.finish('closed-by-client'),
      upstreamClosed: (afterQuit) => session.finish(afterQuit ? 'closed-by-client' : 'upstream-closed'),
      protocolError: (side, detail) => {
        session.log.warn({ side, detail }, 'mysql.protocol_error');
        session.terminate('protocol-error');
      },
    }, session.log);
    relay.start(packets.detach(), up.rest);
  } catch (err) {
    clearTimeout(timer);
    deps.ids.release(id);
    const r = err instanceof Refusal ? err
      : err instanceof MyProtocolError ? new Refusal(1043, '08S01', `Bad handshake: ${err.message}`)
      : isPortcullisError(err) ? new Refusal(1045, '28000', err.message)
      : new Refusal(1105, 'HY000', 'internal error in the gateway; see its log');
    if (err instanceof Refusal || err instanceof MyProtocolError || isPortcullisError(err)) log.info({ code: r.code, reason: r.message }, 'mysql.refused');
    else log.error({ err }, 'mysql.handshake_error');
    if (!socket.destroyed && socket.writable) socket.end(errPacket(seq + 1, r.code, r.sqlstate, r.message));
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

async function proof(deps: MyDeps, name: string, addr: string, method: string, ok: boolean): Promise<UserRecord> {
  try {
    return await deps.authn.proofFinish(name, addr, method, ok);
  } catch (err) {
    if (isPortcullisError(err) && err.code === 'invalid-credentials') throw new Refusal(1045, '28000', `Access denied for user '${name}' (using password: YES)`);
    throw err;
  }
}

function errorFor(reason: TerminationReason): [number, string] {
  switch (reason) {
    case 'protocol-error': case 'recording-failed': return [1105, 'HY000'];
    default: return [1927, '70100'];
  }
}
