// One client connection to the PostgreSQL listener, as the session pipeline's adapter: TLS
// (SSLRequest), GSSENC refused, cancel forwarding, SCRAM-SHA-256 to the gateway (identify), the
// upstream login with the credential the pipeline issues, then the relay. Refusals are
// ErrorResponses with real SQLSTATEs and a message that says what to do. Decides nothing itself:
// authorization, recording, limits and the end of the session are the pipeline's.
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
import type { CancelKeys, CancelOutcome } from './cancel-keys.js';
import { HandshakeReader } from './handshake-reader.js';
import { PgRelay } from './relay.js';
import { StatementLog } from './statement-log.js';
import { connectPgUpstream, type UpstreamReady } from './upstream.js';
import { PgProtocolError, PgReader } from './wire/frames.js';
import { authOk, authSasl, authSaslContinue, authSaslFinal, backendKeyData, fatal, notice, parameterStatus, readyForQuery } from './wire/server-messages.js';
import { ScramServer } from './wire/scram.js';
import { PROTOCOL_3_2 } from './wire/startup.js';
import { destroyAfterOwnEnd } from '../net/half-close.js';
import { sharedTlsContext } from '../net/tls-context.js';

export interface PgDeps {
  authn: Authenticator;
  pipeline: SessionPipeline;
  clock: Clock;
  log: Logger;
  tls: { cert: string; key: string };
  allowPlaintext: boolean;
  cancelKeys: CancelKeys;
  maxMessage: number;
  /** statements.maxBytes: the longest statement text recorded whole and run; longer is refused. */
  statementMax: number;
  handshakeTimeoutMs: number;
}

// Startup parameters passed on to the target; anything else (e.g. `options`) is dropped.
const PASS_PARAMS = ['application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'IntervalStyle', 'extra_float_digits'];

const CANCEL_REASONS: Record<CancelOutcome, string> = {
  forwarded: 'cancel request forwarded',
  relayed: 'cancel request for a key of another node: passed to the cluster',
  unknown: 'cancel request for an unknown key',
};

class Refusal extends Error {
  constructor(readonly sqlstate: string, message: string, readonly hint?: string) {
    super(message);
  }
}

export async function handlePgConnection(deps: PgDeps, raw: Socket): Promise<void> {
  await deps.pipeline.start(new PgAdapter(deps, raw));
}

class PgAdapter implements ProtocolAdapter<UpstreamReady> {
  readonly protocol = 'postgres';
  readonly frontEnd = 'postgres';
  readonly clientAddr: string;
  private readonly log: Logger;
  private socket: Socket;
  private readonly reader: HandshakeReader;
  private readonly timer: NodeJS.Timeout;
  private params: Record<string, string> = {};
  private target = '';
  private relayer: PgRelay | null = null;
  /** What the client is told at the end when the session ends for a refused statement. */
  private refusal: string | null = null;

  constructor(private readonly deps: PgDeps, raw: Socket) {
    this.clientAddr = raw.remoteAddress ?? 'unknown';
    this.log = deps.log.child({ addr: this.clientAddr });
    this.socket = raw;
    this.reader = new HandshakeReader(raw);
    this.timer = setTimeout(() => { this.log.info({}, 'pg.handshake_timeout'); this.socket.destroy(); }, deps.handshakeTimeoutMs);
    raw.on('error', () => {});
  }

  async identify(): Promise<Identity | null> {
    const { deps, reader } = this;
    const raw = this.socket;
    let packet = await reader.startup();
    for (;;) {
      if (packet.kind === 'ssl') {
        if (this.socket instanceof TLSSocket) throw new Refusal('08P01', 'SSLRequest after TLS was already set up');
        // A client that sends its ClientHello without waiting for 'S' must not lose those bytes.
        const early = reader.detach();
        raw.pause();
        if (early.length > 0) raw.unshift(early);
        raw.write('S');
        const tls = new TLSSocket(raw, { isServer: true, secureContext: sharedTlsContext(deps.tls) });
        destroyAfterOwnEnd(tls); // the raw socket's own events stop once TLS takes its handle
        // The refusal names the TLS failure, not just "closed during the handshake".
        tls.on('error', (e: Error & { code?: string }) => reader.fail(new PgProtocolError(`TLS handshake failed: ${e.code ?? e.message}`)));
        this.socket = tls;
        reader.switchTo(tls);
      } else if (packet.kind === 'gssenc') {
        this.socket.write('N');
      } else if (packet.kind === 'cancel') {
        const outcome = deps.cancelKeys.forward(packet.pid, packet.key, this.clientAddr);
        // Dropped silently towards the client, as PostgreSQL does; the log says which it was.
        this.log.info({ reason: CANCEL_REASONS[outcome] }, 'pg.cancel');
        this.socket.end();
        clearTimeout(this.timer);
        return null;
      } else break;
      packet = await reader.startup();
    }
    if (packet.kind !== 'startup') { clearTimeout(this.timer); return null; }
    if (!(this.socket instanceof TLSSocket) && !deps.allowPlaintext) {
      throw new Refusal('28000', 'Portcullis requires TLS', 'connect with sslmode=require (or verify-full with the gateway CA)');
    }
    if (packet.version === PROTOCOL_3_2) this.socket.write(negotiateProtocol30(Object.keys(packet.params).filter((k) => k.startsWith('_pq_.'))));
    const principal = parsePrincipal(packet.params.user ?? '');
    if (!principal || principal.target === null) {
      throw new Refusal('28000', 'connect as USER+TARGET (or USER+TARGET+LEVEL)', 'for example: psql "host=gateway port=15432 user=dba+orders-db dbname=orders sslmode=require"');
    }
    const user: UserRecord = await scramLogin(deps, this.socket, reader, principal.user, principal.target, this.clientAddr);
    this.params = { database: packet.params.database ?? '' };
    for (const k of PASS_PARAMS) if (packet.params[k] !== undefined) this.params[k] = packet.params[k];
    this.target = principal.target;
    return { kind: 'user', user, target: principal.target, level: principal.level };
  }

  refuse(refusal: SessionRefusal): void {
    clearTimeout(this.timer);
    const r = this.refusalFor(refusal);
    if (!this.socket.destroyed && this.socket.writable) this.socket.end(fatal(r.sqlstate, r.message, r.hint));
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private refusalFor(refusal: SessionRefusal): Refusal {
    switch (refusal.kind) {
      case 'upstream': {
        const f = refusal.failure;
        const r = f.kind === 'refused' && f.targetCode ? new Refusal(f.targetCode, f.message)
          : new Refusal('08006', f.message, 'an admin can check the target with: portcullis target test ' + this.target);
        this.log.info({ code: r.sqlstate, reason: r.message }, 'pg.refused');
        return r;
      }
      case 'access':
      case 'client': {
        const err = refusal.kind === 'access' ? refusal.error : refusal.error;
        const r = err instanceof Refusal ? err
          : err instanceof PgProtocolError ? new Refusal('08P01', err.message)
          // disk_full: the gateway cannot record, so it does not let the session start.
          : isPortcullisError(err) && err.code === 'storage-full' ? new Refusal('53100', err.message)
          // cannot_connect_now: the gateway's store is unreachable (the message says so; retry later).
          : isPortcullisError(err) && err.code === 'store-unavailable' ? new Refusal('57P03', err.message)
          : isPortcullisError(err) ? new Refusal(err.code === 'invalid-credentials' ? '28P01' : '28000', err.message)
          : new Refusal('XX000', 'internal error in the gateway; see its log');
        if (!(err instanceof Refusal) && !(err instanceof PgProtocolError) && !isPortcullisError(err)) this.log.error({ err }, 'pg.handshake_error');
        else this.log.info({ code: r.sqlstate, reason: r.message }, 'pg.refused');
        return r;
      }
    }
  }

  connect(ctx: SessionContext, credential: UpstreamCredential): Promise<UpstreamReady> {
    const { target } = ctx.auth;
    return connectPgUpstream(target, credential, { ...this.params, database: this.params.database || (target.database ?? target.account) }, {
      signal: ctx.signal, onWeakAuth: (method) => ctx.weakUpstreamAuth(method),
    });
  }

  release(upstream: UpstreamReady): void {
    upstream.socket.destroy();
  }

  relay(ctx: SessionContext, up: UpstreamReady): void {
    const { deps, socket } = this;
    const key = deps.cancelKeys.issue(ctx.auth.target, up.pid, up.key);
    ctx.signal.addEventListener('abort', () => deps.cancelKeys.release(key.pid, key.key), { once: true });
    socket.write(Buffer.concat([
      authOk(), ...up.parameters.map(([k, v]) => parameterStatus(k, v)), backendKeyData(key.pid, key.key), readyForQuery(up.status),
    ]));
    clearTimeout(this.timer);
    const statements = new StatementLog(() => deps.clock.now(), (rec) => ctx.taps.statement(rec));
    this.relayer = new PgRelay(socket, up.socket, statements, { maxMessage: deps.maxMessage, statementMax: deps.statementMax }, {
      clientClosed: () => ctx.ended('closed-by-client'),
      upstreamClosed: () => ctx.ended('upstream-closed'),
      protocolError: (side, detail) => ctx.ended('protocol-error', `${side}: ${detail}`),
      statementTooLarge: (e) => {
        const what = e.messageType === 'B' ? 'this statement\'s bound parameters are' : 'this statement is';
        this.refusal = `Portcullis: ${what} ${e.textBytes} bytes, over the gateway's limit of ${e.limit} bytes (statements.maxBytes); `
          + 'it was not run, and the session is closed';
        statements.refused(e.messageType, e.textBytes, this.refusal);
        ctx.ended('statement-too-large');
      },
    }, ctx.log, ctx, up.status);
    this.relayer.start(this.reader.detach(), up.rest);
  }

  warn(message: string): void {
    this.relayer?.inject(notice(message));
  }

  close(reason: TerminationReason, message: string): void {
    if (this.relayer) this.relayer.cut(sqlstateFor(reason), reason === 'statement-too-large' && this.refusal ? this.refusal : message);
    else this.socket.destroy();
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
    // One refusal for every failure, whatever the name (unknown, wrong password, no database password
    // for a user with a code, disabled): PostgreSQL's own words, and a hint that fits all of them.
    if (isPortcullisError(err) && err.code === 'invalid-credentials') {
      throw new Refusal('28P01', `password authentication failed for user "${name}"`,
        `check the user name and password; an account with a one-time code or single sign-on uses a database password from: portcullis db-password ${target}`);
    }
    throw err;
  }
  socket.write(authSaslFinal(result.serverFinal));
  return user;
}

function sqlstateFor(reason: TerminationReason): string {
  switch (reason) {
    case 'recording-failed': case 'protocol-error': return '08P01';
    case 'statement-too-large': return '54000';
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
