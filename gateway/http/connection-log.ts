// One logged reason for every HTTPS connection that ends without a request being handled: a failed
// TLS handshake, an HTTP request Node's parser refuses, a header timeout, or a client that closed
// (or was reset) before sending a whole request. Node's defaults close these silently. Connections
// are closed as Node would close them; requests themselves are logged by the server. Keeps no
// state past a connection's close; decides nothing about requests.
import type { IncomingMessage, Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { Socket as NetSocket, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { LOG, type Logger } from '../log/logger.js';
import { destroyAfterOwnEnd } from '../net/half-close.js';

/** addr and port as taken at accept. */
interface Conn { logged: boolean; requests: number; errorLogged: boolean; addr: string; port: number | undefined }

const keyOf = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string | null =>
  s.remoteAddress === undefined ? null : `${s.remoteAddress}:${s.remotePort ?? 0}`;

export function logConnectionsWithoutRequest(server: HttpsServer | Server, log: Logger): void {
  const byRaw = new WeakMap<Socket, Conn>();
  const open = new Map<string, Conn>();
  // The connection a TLS socket (or a plain one) belongs to. By object first: Node's TLS socket
  // keeps the raw socket it wraps as _parent. By address otherwise, never for a socket reset so
  // early it has none: all such sockets would share one key, and one would mark another's
  // connection as logged, which then closes without a line.
  const connOf = (s: Duplex): Conn | undefined => {
    const parent = (s as { _parent?: unknown })._parent;
    const raw = parent instanceof NetSocket ? parent : s instanceof NetSocket ? s : null;
    const byObject = raw ? byRaw.get(raw) : undefined;
    if (byObject) return byObject;
    const key = keyOf(s as Partial<Socket>);
    return key === null ? undefined : open.get(key);
  };
  /** Marks the connection as logged; returns the address to log it under. */
  const mark = (s: Duplex, request = false): { addr: string; port: number | undefined; conn: Conn | undefined } => {
    const c = connOf(s);
    const own = s as Partial<Socket>;
    if (c) {
      c.logged = true;
      if (request) c.requests++;
    }
    return { addr: own.remoteAddress ?? c?.addr ?? 'unknown', port: own.remotePort ?? c?.port, conn: c };
  };
  // A failed handshake is reported twice by Node (clientError, then tlsClientError): one line.
  const logError = (socket: Duplex, err: Error & { code?: string }, msg: string): void => {
    const { addr, port, conn } = mark(socket);
    // Or after the raw socket's close already logged the connection (a client that hung up).
    if (conn?.errorLogged) return;
    if (conn) conn.errorLogged = true;
    log.info({ addr, port, reason: err.code ?? err.message }, msg);
  };
  server.on('connection', (raw: Socket) => {
    // A connection reset before it was accepted has no address any more: logged as "unknown".
    const addr = raw.remoteAddress ?? 'unknown';
    const port = raw.remotePort;
    const key = keyOf(raw);
    const c: Conn = { logged: false, requests: 0, errorLogged: false, addr, port };
    byRaw.set(raw, c);
    if (key !== null) open.set(key, c);
    raw.once('close', () => {
      if (key !== null && open.get(key) === c) open.delete(key);
      // With the address taken at accept: a request's own line may lack it when the client is
      // already gone by the time it is handled.
      if (c.requests > 0) return log.debug({ addr, port, requests: c.requests }, LOG.httpConnectionClosed);
      if (c.logged) return;
      c.errorLogged = true;
      const reason = raw.bytesRead === 0 ? 'closed before sending anything' : 'closed before a complete request';
      log.info({ addr, port, bytes: raw.bytesRead, reason }, LOG.httpNoRequest);
    });
  });
  // The TLS socket, not the raw one: TLS takes the raw socket's handle, whose own events stop.
  server.on('secureConnection', (tls: TLSSocket) => destroyAfterOwnEnd(tls));
  server.on('request', (req: IncomingMessage) => mark(req.socket, true));
  server.on('upgrade', (req: IncomingMessage) => mark(req.socket, true));
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    logError(socket, err, LOG.httpTlsFailed);
    socket.destroy();
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    logError(socket, err, err.code?.startsWith('ERR_SSL') ? LOG.httpTlsFailed : LOG.httpBadRequest);
    if (err.code !== 'ECONNRESET' && socket.writable) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  });
}
