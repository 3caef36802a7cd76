// The SSH listener. TCP is accepted here, not inside ssh2, because ssh2 only reports a connection
// once the client has sent its ident line: a client that connects and says nothing would otherwise
// hold a socket forever. Every socket counts as pre-auth until its SSH login succeeds; pre-auth
// sockets are bounded (new ones are dropped, existing sessions untouched) and closed at the auth
// timeout. A socket that closes before its login succeeded is logged once (`ssh.preauth_closed`)
// with why: ssh2's error when it had one, the timeout, or who closed first — ssh2 silences errors
// before the ident line, so without this a malformed ident leaves no trace. Protocol errors are
// logged against their own connection only. Decides nothing about who may log in.
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { destroyAfterOwnEnd } from '../net/half-close.js';
import ssh2 from 'ssh2';
import type { Listener } from '../net/listener.js';
import { SshAdapter, type SshDeps } from './connection.js';

export interface SshListenerOptions {
  hostKeyFile: string;
  host: string;
  port: number;
  maxPreAuth: number;
}

/** A socket that has not logged in yet. */
interface PreAuth {
  timer: NodeJS.Timeout;
  /** What the timer does: close the socket as an auth timeout. */
  expire: () => void;
  /** Why it is closing, once known (ssh2's error, or the timeout). */
  reason: string | null;
  identified: boolean;
  /** The gateway ended its side before the client did (ssh2 refused what it read). */
  endedByGateway: boolean;
}

export function createSshListener(deps: SshDeps, opts: SshListenerOptions): Listener {
  const preAuth = new Map<string, PreAuth>();
  const settle = (key: string): void => {
    const p = preAuth.get(key);
    if (p) clearTimeout(p.timer);
    preAuth.delete(key);
  };
  const ssh = new ssh2.Server({ hostKeys: [readFileSync(opts.hostKeyFile)], ident: 'Portcullis' }, (client, info) => {
    const key = `${info.ip}:${info.port}`;
    const p = preAuth.get(key);
    if (p) {
      p.identified = true;
      client.on('error', (err: Error) => { p.reason ??= err.message; });
    }
    // A login waiting for approval in the browser gets longer than the usual auth timeout (once).
    const extendAuth = (ms: number): void => {
      const q = preAuth.get(key);
      if (!q) return;
      clearTimeout(q.timer);
      q.timer = setTimeout(q.expire, ms);
    };
    void deps.pipeline.start(new SshAdapter(deps, client, info.ip, () => settle(key), extendAuth));
  });
  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    const addr = socket.remoteAddress ?? 'unknown';
    const key = `${addr}:${socket.remotePort ?? 0}`;
    destroyAfterOwnEnd(socket);
    socket.on('error', (err: Error & { code?: string }) => {
      const p = preAuth.get(key);
      if (p) p.reason ??= err.code ?? err.message;
    });
    if (preAuth.size >= opts.maxPreAuth) {
      deps.log.warn({ addr, preAuth: preAuth.size }, 'ssh.preauth_limit');
      socket.destroy();
      return;
    }
    const expire = (): void => {
      deps.log.info({ addr }, 'ssh.auth_timeout');
      p.reason ??= 'auth timeout';
      socket.destroy();
    };
    const p: PreAuth = { timer: setTimeout(expire, deps.authTimeoutMs), expire, reason: null, identified: false, endedByGateway: false };
    preAuth.set(key, p);
    // Runs before Node's own 'end' handling (which ends our side too): tells who closed first.
    socket.prependListener('end', () => { if (socket.writableEnded) p.endedByGateway = true; });
    socket.once('finish', () => { if (!socket.readableEnded) p.endedByGateway = true; });
    sockets.add(socket);
    socket.once('close', () => {
      if (preAuth.get(key) === p) {
        deps.log.info({ addr, port: socket.remotePort, bytes: socket.bytesRead, reason: p.reason ?? closedWhy(p) }, 'ssh.preauth_closed');
      }
      settle(key);
      sockets.delete(socket);
    });
    socket.setNoDelay(true);
    ssh.injectSocket(socket);
  });
  tcp.on('error', (err: Error) => deps.log.error({ err: err.message }, 'ssh.listener_error'));
  return {
    name: 'ssh',
    start: () => new Promise<AddressInfo>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(opts.port, opts.host, () => resolve(tcp.address() as AddressInfo));
    }),
    stop: () => new Promise<void>((resolve) => {
      tcp.close(() => resolve());
      // Sessions were ended by the live registry; drop whatever is still authenticating.
      for (const [key] of preAuth) settle(key);
      for (const s of sockets) s.destroy();
    }),
  };
}

function closedWhy(p: PreAuth): string {
  if (!p.identified) return p.endedByGateway ? 'invalid SSH identification' : 'client closed before its SSH identification';
  return p.endedByGateway ? 'closed by the gateway before login' : 'client closed before login';
}
