// One client connection to the MySQL listener: the greeting (the target's real server version and
// capabilities, learned by probing), TLS, authentication against the gateway account —
// caching_sha2_password with full authentication over TLS, or mysql_native_password for old
// clients — as the session pipeline's adapter (identify); then the upstream login with the
// credential the pipeline issues, and the relay. Refusals are MySQL error packets with real codes
// and a message that says what to do. Decides nothing: the pipeline authorizes, records and ends.
import { constants, type KeyObject, privateDecrypt, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Authenticator } from '../access/authn.js';
import type { Logger } from '../log/logger.js';
import type { Identity, ProtocolAdapter, SessionContext, SessionRefusal, UserRecord } from '../session/adapter.js';
import type { UpstreamCredential } from '../session/credentials.js';
import type { SessionPipeline } from '../session/pipeline.js';
import { parsePrincipal } from '../session/principal.js';
import type { TerminationReason } from '../session/termination.js';
import type { Clock } from '../util/clock.js';
import { isPortcullisError } from '../util/errors.js';
import type { ConnectionIds } from './connection-ids.js';
import { PacketQueue } from './packet-queue.js';
import { MyRelay, statementTooLargeMessage } from './relay.js';
import { MyStatementLog } from './statement-log.js';
import { connectMyUpstream, type MyUpstream } from './upstream.js';
import type { GreetingCache } from './greeting-cache.js';
import { checkNative } from './wire/auth-scramble.js';
import { CAP, has } from './wire/capabilities.js';
import { encodeGreeting, parseHandshakeResponse } from './wire/handshake.js';
import { MyProtocolError, errPacket, okPacket, packet } from './wire/packets.js';
import { destroyAfterOwnEnd } from '../net/half-close.js';
import { sharedTlsContext } from '../net/tls-context.js';

export interface MyDeps {
  authn: Authenticator;
  pipeline: SessionPipeline;
  clock: Clock;
  log: Logger;
  tls: { cert: string; key: string };
  allowPlaintext: boolean;
  ids: ConnectionIds;
  greetings: GreetingCache;
  maxPacket: number;
  /** statements.maxBytes: the longest statement text recorded whole and run; longer is refused. */
  statementMax: number;
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
  await deps.pipeline.start(new MyAdapter(deps, raw));
}

interface ClientHello { caps: number; extCaps: number; charset: number; database: string | null; user: string }

class MyAdapter implements ProtocolAdapter<MyUpstream> {
  readonly protocol = 'mysql';
  readonly frontEnd = 'mysql';
  readonly clientAddr: string;
  private readonly log: Logger;
  private socket: Socket;
  private seq = 0;
  private readonly id: number;
  private readonly timer: NodeJS.Timeout;
  private readonly packets: PacketQueue;
  private hello: ClientHello | null = null;
  private target = '';
  private relayer: MyRelay | null = null;

  constructor(private readonly deps: MyDeps, private readonly raw: Socket) {
    this.clientAddr = raw.remoteAddress ?? 'unknown';
    this.log = deps.log.child({ addr: this.clientAddr });
    this.socket = raw;
    this.id = deps.ids.allocate();
    this.timer = setTimeout(() => { this.log.info({}, 'mysql.handshake_timeout'); this.socket.destroy(); }, deps.handshakeTimeoutMs);
    raw.on('error', () => {});
    this.packets = new PacketQueue(raw, 64 * 1024, () => new MyProtocolError('client closed the connection during the handshake'));
  }

  private send(payload: Buffer): void {
    this.socket.write(packet(++this.seq, payload));
  }

  private async recv(): Promise<Buffer> {
    const p = await this.packets.next();
    if (p.seq !== (this.seq + 1) % 256) throw new MyProtocolError(`packet out of order (got ${p.seq}, expected ${this.seq + 1})`);
    this.seq = p.seq;
    return p.payload;
  }

  async identify(): Promise<Identity> {
    const { deps, raw, packets } = this;
    const addr = this.clientAddr;
    const g = deps.greetings.forClients();
    const scramble = nonce();
    this.socket.write(packet(0, encodeGreeting({ ...g, connectionId: this.id, nonce: scramble, plugin: 'caching_sha2_password' })));
    let resp = parseHandshakeResponse(await this.recv());
    if (resp.sslRequest) {
      if (!has(resp.caps, CAP.SSL)) throw new Refusal(1043, '08S01', 'Bad handshake');
      // Clients send their TLS ClientHello right behind the SSLRequest, without waiting: bytes
      // already read go back into the socket, where the TLS layer picks them up.
      const early = packets.detach();
      raw.pause();
      if (early.length > 0) raw.unshift(early);
      const tls = new TLSSocket(raw, { isServer: true, secureContext: sharedTlsContext(deps.tls) });
      destroyAfterOwnEnd(tls); // the raw socket's own events stop once TLS takes its handle
      // The refusal names the TLS failure, not just "closed during the handshake".
      tls.on('error', (e: Error & { code?: string }) => packets.fail(new MyProtocolError(`TLS handshake failed: ${e.code ?? e.message}`)));
      this.socket = tls;
      packets.switchTo(tls);
      resp = parseHandshakeResponse(await this.recv());
    }
    const secure = this.socket instanceof TLSSocket;
    if (!secure && !deps.allowPlaintext) {
      throw new Refusal(3159, 'HY000', 'Portcullis requires TLS: connect with --ssl (mysql/mariadb) or ssl-mode=REQUIRED');
    }
    const principal = parsePrincipal(resp.user);
    if (!principal || principal.target === null) {
      throw new Refusal(1045, '28000', 'connect as USER+TARGET (or USER+TARGET+LEVEL), for example: mysql -h gateway -P 13306 -u dba+shop-db -p --ssl');
    }
    const target = principal.target;
    this.target = target;

    let user: UserRecord;
    // Which exchange runs depends only on what the client sent, never on the name: a switch or a
    // plugin chosen per user would tell who exists and who has mysql_native_password enabled.
    if (resp.plugin === 'mysql_native_password' || (resp.plugin === null && !has(resp.caps, CAP.PLUGIN_AUTH))) {
      const native = await deps.authn.nativeBegin(principal.user, addr);
      let answer = resp.authResponse;
      if (answer.length === 0) {
        // libmariadb/libmysqlclient send nothing when their plugin differs from the greeting's and
        // wait for a switch (--default-auth=mysql_native_password, or a client with nothing else).
        this.send(Buffer.concat([Buffer.from([0xfe]), Buffer.from('mysql_native_password\0'), scramble, Buffer.from([0])]));
        answer = await this.recv();
      }
      // Checked against a decoy when the user has no native opt-in (or does not exist): same work.
      const ok = checkNative(answer, scramble, native.verifier) && native.genuine;
      user = await proof(deps, principal.user, addr, 'mysql-native', ok, resp.user, target);
    } else {
      if (resp.plugin !== 'caching_sha2_password') {
        // AuthSwitchRequest to the plugin we speak, with the same nonce.
        this.send(Buffer.concat([Buffer.from([0xfe]), Buffer.from('caching_sha2_password\0'), scramble, Buffer.from([0])]));
        await this.recv();
      }
      // No password cache on the gateway: always ask for full authentication. Over TLS the client
      // sends the password itself; without TLS (development only) it asks for our RSA key first.
      this.send(Buffer.from([0x01, 0x04]));
      let answer = await this.recv();
      if (!secure && answer.length === 1 && answer[0] === 0x02) {
        this.send(Buffer.concat([Buffer.from([0x01]), Buffer.from(deps.rsa.publicKeyPem)]));
        answer = xorNonce(decryptPassword(deps.rsa.privateKey, await this.recv()), scramble);
      } else if (!secure) {
        throw new Refusal(3159, 'HY000', 'caching_sha2_password needs TLS or the RSA key exchange: connect with --ssl');
      }
      const password = answer.toString('utf8').replace(/\0$/, '');
      try {
        user = await deps.authn.dbPasswordLogin(principal.user, target, password, addr, 'mysql-caching-sha2');
      } catch (err) {
        if (isPortcullisError(err) && err.code === 'invalid-credentials') throw accessDenied(resp.user, target, false);
        throw err;
      }
    }
    this.hello = { caps: resp.caps, extCaps: resp.extCaps, charset: resp.charset, database: resp.database, user: resp.user };
    return { kind: 'user', user, target, level: principal.level };
  }

  refuse(refusal: SessionRefusal): void {
    clearTimeout(this.timer);
    this.deps.ids.release(this.id);
    const r = this.refusalFor(refusal);
    const socket = this.socket;
    if (!socket.destroyed && socket.writable) socket.end(errPacket(this.seq + 1, r.code, r.sqlstate, r.message));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private refusalFor(refusal: SessionRefusal): Refusal {
    if (refusal.kind === 'upstream') {
      const r = new Refusal(1105, 'HY000', `${refusal.failure.message}; an admin can check the target with: portcullis target test ${this.target}`);
      this.log.info({ code: r.code, reason: r.message }, 'mysql.refused');
      return r;
    }
    const err = refusal.error;
    const r = err instanceof Refusal ? err
      : err instanceof MyProtocolError ? new Refusal(1043, '08S01', `Bad handshake: ${err.message}`)
      // ER_DISK_FULL: the gateway cannot record, so it does not let the session start.
      : isPortcullisError(err) && err.code === 'storage-full' ? new Refusal(1021, 'HY000', err.message)
      // Not an access denial: the gateway's store is unreachable (the message says so; retry later).
      : isPortcullisError(err) && err.code === 'store-unavailable' ? new Refusal(1105, 'HY000', err.message)
      : isPortcullisError(err) ? new Refusal(1045, '28000', err.message)
      : new Refusal(1105, 'HY000', 'internal error in the gateway; see its log');
    if (err instanceof Refusal || err instanceof MyProtocolError || isPortcullisError(err)) this.log.info({ code: r.code, reason: r.message }, 'mysql.refused');
    else this.log.error({ err }, 'mysql.handshake_error');
    return r;
  }

  connect(ctx: SessionContext, credential: UpstreamCredential): Promise<MyUpstream> {
    const hello = this.hello!;
    return connectMyUpstream(ctx.auth.target, credential, {
      caps: hello.caps, extCaps: hello.extCaps, charset: hello.charset, database: hello.database ?? ctx.auth.target.database,
    }, { signal: ctx.signal, onWeakAuth: (method) => ctx.weakUpstreamAuth(method) });
  }

  release(upstream: MyUpstream): void {
    upstream.socket.destroy();
  }

  relay(ctx: SessionContext, up: MyUpstream): void {
    const { deps, id } = this;
    const { auth } = ctx;
    const clientCaps = this.hello!.caps;
    deps.greetings.learn(up.greeting);
    deps.ids.bind(id, { sessionId: ctx.id, userId: auth.user.id, targetId: auth.target.id, upstreamId: up.greeting.connectionId });
    ctx.signal.addEventListener('abort', () => deps.ids.release(id), { once: true });
    this.socket.write(okPacket(++this.seq, up.status, has(clientCaps, CAP.SESSION_TRACK)));
    clearTimeout(this.timer);
    const statements = new MyStatementLog(() => clientCaps, () => deps.clock.now(), (rec) => ctx.taps.statement(rec));
    this.relayer = new MyRelay(this.socket, up.socket, statements, deps.maxPacket, {
      killTarget: (gatewayId) => deps.ids.resolve(gatewayId, auth.user.id, auth.target.id),
      killTargetElsewhere: (gatewayId) => deps.ids.resolveElsewhere(gatewayId, auth.user.id, auth.target.id),
      clientClosed: () => ctx.ended('closed-by-client'),
      upstreamClosed: (afterQuit) => ctx.ended(afterQuit ? 'closed-by-client' : 'upstream-closed'),
      protocolError: (side, detail) => ctx.ended('protocol-error', `${side}: ${detail}`),
      statementTooLarge: (e) => {
        statements.refused(e.textBytes, statementTooLargeMessage(e), e.path);
        ctx.ended('statement-too-large');
      },
    }, ctx.log, ctx, deps.statementMax);
    this.relayer.start(this.packets.detach(), up.rest);
  }

  warn(message: string): void {
    this.relayer?.warnOnNextStatement(message);
  }

  close(reason: TerminationReason, message: string): void {
    if (this.relayer) this.relayer.cut(...errorFor(reason), message);
    else this.socket.destroy();
  }
}

async function proof(deps: MyDeps, name: string, addr: string, method: string, ok: boolean, login: string, target: string): Promise<UserRecord> {
  try {
    return await deps.authn.proofFinish(name, addr, method, ok);
  } catch (err) {
    if (isPortcullisError(err) && err.code === 'invalid-credentials') throw accessDenied(login, target, true);
    throw err;
  }
}

/**
 * The one refusal for every failed login, whatever the name (unknown, wrong password, no database
 * password for a user with a code, disabled, no native opt-in): MySQL's own words, then what to try.
 * Only the exchange the client chose changes the hint, never the name.
 */
function accessDenied(login: string, target: string, native: boolean): Refusal {
  const hint = native
    ? 'mysql_native_password works only for accounts an admin enabled it for (portcullis user update NAME --mysql-native-password); '
      + 'otherwise use caching_sha2_password over TLS (mysql/mariadb --ssl --default-auth=caching_sha2_password)'
    : `check the user name and password; an account with a one-time code or single sign-on uses a database password from: portcullis db-password ${target}`;
  return new Refusal(1045, '28000', `Access denied for user '${login}' (using password: YES); ${hint}`);
}

/** The RSA-encrypted password of caching_sha2_password without TLS; garbage is a bad handshake, not an internal error. */
function decryptPassword(key: KeyObject, data: Buffer): Buffer {
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING }, data);
  } catch {
    throw new MyProtocolError('the RSA-encrypted password does not decrypt');
  }
}

function errorFor(reason: TerminationReason): [number, string] {
  switch (reason) {
    case 'protocol-error': case 'recording-failed': return [1105, 'HY000'];
    case 'statement-too-large': return [1153, '08S01'];
    default: return [1927, '70100'];
  }
}
