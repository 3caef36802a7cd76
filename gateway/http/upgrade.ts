// The one HTTP "upgrade" listener: WebSocket endpoints register a path; each authenticates in its
// handler, before any WebSocket exists (the ws noServer pattern). Before any route runs, the Origin
// must be one of the gateway's own (origin-guard.ts): a page on another origin opening a socket
// with a user's cookie is refused 403, whatever the path. Every refusal — foreign origin (403), unknown path (404),
// a request target that is not a URL (400), a route's own 401/403, a malformed WebSocket handshake —
// is answered in HTTP and logged with its reason. It never throws into the HTTP server's event: a
// throw there is an uncaught exception that stops the process. Decides nothing about who may connect.
import type { IncomingMessage } from 'node:http';
import type { Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../log/logger.js';
import type { OriginGuard } from './origin-guard.js';
import { requestUrl } from './request-url.js';

/** Answers an upgrade with an HTTP status and a one-line reason, logged, and closes it. */
export type RefuseUpgrade = (code: number, text: string) => void;

export interface UpgradeRoute {
  path: RegExp;
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, match: RegExpExecArray, refuse: RefuseUpgrade): void;
}

function refuseUpgrade(socket: Duplex, code: number, text: string): void {
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${text}\n`);
}

export function attachUpgrades(server: Server, routes: UpgradeRoute[], log: Logger, origins: OriginGuard): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const who = { addr: req.socket.remoteAddress, port: req.socket.remotePort };
    const refuse: RefuseUpgrade = (code, text) => {
      log.info({ ...who, code, reason: text }, 'http.upgrade_refused');
      refuseUpgrade(socket, code, text);
    };
    try {
      const url = requestUrl(req.url);
      if (!url) return refuse(400, 'Bad Request');
      // Logged (and audited for a real session) by the guard; answered here without a second line.
      if (origins.upgrade(req, url.pathname)) return refuseUpgrade(socket, 403, 'Forbidden origin');
      for (const r of routes) {
        const m = r.path.exec(url.pathname);
        if (m) return r.handle(req, socket, head, m, refuse);
      }
      refuse(404, 'Not Found');
    } catch (err) {
      log.error({ ...who, err }, 'http.upgrade_failed');
      socket.destroy();
    }
  });
}

/**
 * Logs the WebSocket handshakes `ws` refuses (bad Sec-WebSocket-Key or -Version, wrong method…)
 * and answers them as ws itself would; without a listener ws answers but nothing is logged.
 */
export function logRefusedHandshakes(wss: WebSocketServer, log: Logger): void {
  wss.on('wsClientError', (err: Error & { code?: string }, socket: Duplex, req: IncomingMessage) => {
    log.info({ addr: req.socket.remoteAddress, port: req.socket.remotePort, reason: err.message }, 'http.upgrade_refused');
    if (socket.writable) socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${err.message}\n`);
    socket.destroy();
  });
}
