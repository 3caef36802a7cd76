// The SSH listener. TCP is accepted here, not inside ssh2, because ssh2 only reports a connection
// once the client has sent its ident line: a client that connects and says nothing would otherwise
// hold a socket forever. Every socket counts as pre-auth until its SSH login succeeds; pre-auth
// sockets are bounded (new ones are dropped, existing sessions untouched) and closed at the auth
// timeout. Protocol errors are logged against their own connection only.
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Listener } from '../net/listener.js';
import { SshAdapter, type SshDeps } from './connection.js';

export interface SshListenerOptions {
  hostKeyFile: string;
  host: string;
  port: number;
  maxPreAuth: number;
}

export function createSshListener(deps: SshDeps, opts: SshListenerOptions): Listener {
  const preAuth = new Map<string, NodeJS.Timeout>();
  const settle = (key: string): void => {
    const timer = preAuth.get(key);
    if (timer) clearTimeout(timer);
    preAuth.delete(key);
  };
  const ssh = new ssh2.Server({ hostKeys: [readFileSync(opts.hostKeyFile)], ident: 'Portcullis' }, (client, info) => {
    void deps.pipeline.start(new SshAdapter(deps, client, info.ip, () => settle(`${info.ip}:${info.port}`)));
  });
  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    const addr = socket.remoteAddress ?? 'unknown';
    socket.on('error', () => {});
    if (preAuth.size >= opts.maxPreAuth) {
      deps.log.warn({ addr, preAuth: preAuth.size }, 'ssh.preauth_limit');
      socket.destroy();
      return;
    }
    const key = `${addr}:${socket.remotePort ?? 0}`;
    preAuth.set(key, setTimeout(() => {
      deps.log.info({ addr }, 'ssh.auth_timeout');
      socket.destroy();
    }, deps.authTimeoutMs));
    sockets.add(socket);
    socket.once('close', () => { settle(key); sockets.delete(socket); });
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
