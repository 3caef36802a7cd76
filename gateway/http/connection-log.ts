// One logged reason for every HTTPS connection that ends without a request being handled: a failed
// TLS handshake, an HTTP request Node's parser refuses, a header timeout, or a client that closed
// (or was reset) before sending a whole request. Node's defaults close these silently. Connections
// are closed as Node would close them; requests themselves are logged by the server. Keeps no
// state past a connection's close; decides nothing about requests.
import type { IncomingMessage, Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { LOG, type Logger } from '../log/logger.js';
import { destroyAfterOwnEnd } from '../net/half-close.js';

interface Conn { logged: boolean; requests: number }

const keyOf = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string => `${s.remoteAddress ?? '?'}:${s.remotePort ?? 0}`;

export function logConnectionsWithoutRequest(server: HttpsServer | Server, log: Logger): void {
  const open = new Map<string, Conn>();
  const mark = (s: Duplex, request = false): void => {
    const c = open.get(keyOf(s as Partial<Socket>));
    if (!c) return;
    c.logged = true;
    if (request) c.requests++;
  };
  server.on('connection', (raw: Socket) => {
    // A connection reset before it was accepted has no address any more: logged as "unknown".
    const addr = raw.remoteAddress ?? 'unknown';
    const port = raw.remotePort;
    const key = keyOf(raw);
    const c: Conn = { logged: false, requests: 0 };
    open.set(key, c);
    raw.once('close', () => {
      if (open.get(key) === c) open.delete(key);
      // With the address taken at accept: a request's own line may lack it when the client is
      // already gone by the time it is handled.
      if (c.requests > 0) return log.debug({ addr, port, requests: c.requests }, LOG.httpConnectionClosed);
      if (c.logged) return;
      const reason = raw.bytesRead === 0 ? 'closed before sending anything' : 'closed before a complete request';
      log.info({ addr, port, bytes: raw.bytesRead, reason }, LOG.httpNoRequest);
    });
  });
  // The TLS socket, not the raw one: TLS takes the raw socket's handle, whose own events stop.
  server.on('secureConnection', (tls: TLSSocket) => destroyAfterOwnEnd(tls));
  server.on('request', (req: IncomingMessage) => mark(req.socket, true));
  server.on('upgrade', (req: IncomingMessage) => mark(req.socket, true));
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    mark(socket);
    log.info({ addr: socket.remoteAddress, port: socket.remotePort, reason: err.code ?? err.message }, LOG.httpTlsFailed);
    socket.destroy();
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const s = socket as Partial<Socket> & Duplex;
    mark(socket);
    log.info({ addr: s.remoteAddress, port: s.remotePort, reason: err.code ?? err.message }, LOG.httpBadRequest);
    if (err.code !== 'ECONNRESET' && socket.writable) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  });
}
