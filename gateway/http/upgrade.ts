// The one HTTP "upgrade" listener: WebSocket endpoints register a path; each authenticates in its
// handler, before any WebSocket exists (the ws noServer pattern). Unknown paths get a plain 404.
import type { IncomingMessage } from 'node:http';
import type { Server } from 'node:https';
import type { Duplex } from 'node:stream';

export interface UpgradeRoute {
  path: RegExp;
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, match: RegExpExecArray): void;
}

/** Refuses an upgrade with an HTTP status and a one-line reason. */
export function refuseUpgrade(socket: Duplex, code: number, text: string): void {
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${text}\n`);
}

export function attachUpgrades(server: Server, routes: UpgradeRoute[]): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'https://gateway').pathname;
    for (const r of routes) {
      const m = r.path.exec(path);
      if (m) return r.handle(req, socket, head, m);
    }
    refuseUpgrade(socket, 404, 'Not Found');
  });
}
