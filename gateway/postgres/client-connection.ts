// One client connection to the PostgreSQL listener: TLS (SSLRequest), GSSENC refused, cancel
// forwarding, SCRAM-SHA-256 to the gateway, authorization in the shared decider, the session
// pipeline, the upstream login, then the relay. Refusals are ErrorResponses with real SQLSTATEs
// and a message that says what to do. Decides nothing itself.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Authenticator } from '../access/authn.js';
import type { AccessDecider } from '../access/decider.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../log/logger.js';
import type { UserRecord } from '../store/records.js';
import type { SessionBroker } from '../session/broker.js';
import { DbUpstreamFailure, openDbSession } from '../session/db-session.js';
import { parsePrincipal } from '../session/principal.js';
import type { TerminationReason } from '../session/termination.js';
import type { Clock } from '../util/clock.js';
import { isPortcullisError } from '../util/errors.js';
import type { CancelKeys } from './cancel-keys.js';
import { HandshakeReader } from './handshake-reader.js';
import { PgRelay } from './relay.js';
import { StatementLog } from './statement-log.js';
import { connectPgUpstream } from './upstream.js';
import { PgProtocolError, PgReader } from './wire/frames.js';
import { authOk, authSasl, authSaslContinue, authSaslFinal, backendKeyData, fatal, notice, parameterStatus, readyForQuery } from './wire/server-messages.js';
import { ScramServer } from './wire/scram.js';
import { PROTOCOL_3_2 } from './wire/startup.js';

export interface PgDeps {
  authn: Authenticator;
  decider: AccessDecider;
  broker: SessionBroker;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  tls: { cert: string; key: string };
  allowPlaintext: boolean;
  cancelKeys: CancelKeys;
  maxMessage: number;
  handshakeTimeoutMs: number;
}

// Startup parameters passed on to the target; anything else (e.g. `options`) is dropped.
const PASS_PARAMS = ['application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'IntervalStyle', 'extra_float_digits'];

class Refusal extends Error {
  constructor(readonly sqlstate: string, message: string, readonly hint?: string) {
    super(message);
  }
}

export async function handlePgConnection(deps: PgDeps, raw: Socket): Promise<void> {
  const addr = raw.remoteAddress ?? 'unknown';
  const log = deps.log.child({ addr });
  let socket: Socket = raw;
  const reader = new HandshakeReader(raw);
  const timer = setTimeout(() => { log.info({}, 'pg.handshake_timeout'); socket.destroy(); }, deps.handshakeTimeoutMs);
  raw.on('error', () => {});
  try {
    let packet = await reader.startup();
    for (;;) {
      if (packet.kind === 'ssl') {
        if (socket instanceof TLSSocket) throw new Refusal('08P01', 'SSLRequest after TLS was already set up');
        // A client that sends its ClientHello without waiting for 'S' must not lose those bytes.
        const early = reader.detach();
        raw.pause();
        if (early.length > 0) raw.unshift(early);
        raw.write('S');
        const tls = new TLSSocket(raw, { isServer: true, cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2' });
        tls.on('error', () => {});
        socket = tls;
        reader.switchTo(tls);
      } else if (packet.kind === 'gssenc') {
        socket.write('N');
      } else if (packet.kind === 'cancel') {
        deps.cancelKeys.forward(packet.pid, packet.key);
        socket.end();
        return;
      } else break;
      packet = await reader.startup();
    }
    if (packet.kind !== 'startup') return;
    if (!(socket instanceof TLSSocket) && !deps.allowPlaintext) {
      throw new Refusal('28000', 'Portcullis requires TLS', 'connect with sslmode=require (or verify-full with the gateway CA)');
    }
    if (packet.version === PROTOCOL_3_2) socket.write(negotiateProtocol30(Object.keys(packet.params).filter((k) => k.startsWith('_pq_.'))));
    const principal = parsePrincipal(packet.params.user ?? '');
    if (!principal || principal.target === null) {
      throw new Refusal('28000', 'connect as USER+TARGET', 'for example: psql "host=gateway port=15432 user=dba+orders-db dbname=orders sslmode=require"');
    }
    const user = await scramLogin(deps, socket, reader, principal.user, principal.target, addr);

    let relay: PgRelay | null = null;
    const params: Record<string, string> = { database: packet.params.database ?? '' };
    for (const k of PASS_PARAMS) if (packet.params[k] !== undefined) params[k] = packet.params[k];
    let opened;
    try {
      opened = await openDbSession(deps, {
        user, target: principal.target, kind: 'postgres', addr,
        controls: {
          warn: (m) => relay?.inject(notice(m)),
          close: (reason, message) => { if (relay) relay.cut(sqlstateFor(reason), message); else socket.destroy(); },
        },
      }, (auth, credential) => connectPgUpstream(auth.target, credential, {
        ...params, database: params.database || (auth.target.database ?? auth.target.account),
      }), (u) => u.socket.destroy());
    } catch (err) {
      if (!(err instanceof DbUpstreamFailure)) throw err;
      throw err.kind === 'refused' && err.targetCode
        ? new Refusal(err.targetCode, err.message)
        : new Refusal('08006', err.message, 'an admin can check the target with: portcullis target test ' + principal.target);
    }
    const { session, auth, upstream: up } = opened;
    const key = deps.cancelKeys.issue(auth.target, up.pid, up.key);
    session.onEnd(() => deps.cancelKeys.release(key.pid, key.key));
    socket.write(Buffer.concat([
      authOk(), ...up.parameters.map(([k, v]) => parameterStatus(k, v)), backendKeyData(key.pid, key.key), readyForQuery(up.status),
    ]));
    clearTimeout(timer);
    const log2 = new StatementLog(() => deps.clock.now(), (rec) => opened.record(rec));
    relay = new PgRelay(socket, up.socket, log2, deps.maxMessage, {
      clientClosed: () => session.finish('closed-by-client'),
      upstreamClosed: () => session.finish('upstream-closed'),
      protocolError: (side, detail) => {
        session.log.warn({ side, detail }, 'pg.protocol_error');
        session.terminate('protocol-error');
      },
    }, session.log);
    relay.start(reader.detach(), up.rest);
  } catch (err) {
    clearTimeout(timer);
    const r = err instanceof Refusal ? err
      : err instanceof PgProtocolError ? new Refusal('08P01', err.message)
      : isPortcullisError(err) ? new Refusal(err.code === 'invalid-credentials' ? '28P01' : '28000', err.message)
      : new Refusal('XX000', 'internal error in the gateway; see its log');
    if (!(err instanceof Refusal) && !(err instanceof PgProtocolError) && !isPortcullisError(err)) log.error({ err }, 'pg.handshake_error');
    else log.info({ code: r.sqlstate, reason: r.message }, 'pg.refused');
    if (!socket.destroyed && socket.writable) socket.end(fatal(r.sqlstate, r.message, r.hint));
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

async function scramLogin(deps: PgDeps, socket: Socket, reader: HandshakeReader, name: string, target: string, addr: string): Promise<UserRecord> {
  const keys = await deps.authn.scramBegin(name, target, addr);
  socket.write(authSasl(['SCRAM-SHA-256']));
  const first = await reader.message();
  if (first.type !== 'p') throw new Refusal('08P01', 'expected a SASLInitialResponse');
  const r = new PgReader(first.body);
  const mechanism = r.cstring();
  if (mechanism !== 'SCRAM-SHA-256') throw new Refusal('28000', `unsupported SASL mechanism ${mechanism}`, 'use SCRAM-SHA-256 without channel binding (channel_binding=disable)');
  const len = r.int32();
  const server = new ScramServer(keys);
  socket.write(authSaslContinue(server.first(r.bytes(len).toString('utf8'))));
  const second = await reader.message();
  if (second.type !== 'p') throw new Refusal('08P01', 'expected a SASLResponse');
  const result = server.final(second.body.toString('utf8'));
  let user;
  try {
    user = await deps.authn.proofFinish(name, addr, 'postgres-scram', result.ok);
  } catch (err) {
    if (isPortcullisError(err) && err.code === 'invalid-credentials') throw new Refusal('28P01', `password authentication failed for user "${name}"`);
    throw err;
  }
  socket.write(authSaslFinal(result.serverFinal));
  return user;
}

function sqlstateFor(reason: TerminationReason): string {
  switch (reason) {
    case 'recording-failed': case 'protocol-error': return '08P01';
    default: return '57P01';
  }
}

function negotiateProtocol30(unrecognized: string[]): Buffer {
  const body = Buffer.concat([int32(0), int32(unrecognized.length), ...unrecognized.map((s) => Buffer.from(s + '\0'))]);
  return Buffer.concat([Buffer.from('v'), int32(4 + body.length), body]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
