// The SSH listener: an ssh2 server with the gateway's host key. Bounds the number of connections
// still authenticating (half-open floods drop new ones, not existing sessions) and logs every
// protocol error against its own connection only.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { Listener } from '../cli/serve.js';
import { SshConnection, type SshDeps } from './connection.js';

export interface SshListenerOptions {
  hostKeyFile: string;
  host: string;
  port: number;
  maxPreAuth: number;
}

export function createSshListener(deps: SshDeps, opts: SshListenerOptions): Listener {
  let preAuth = 0;
  const server = new ssh2.Server({ hostKeys: [readFileSync(opts.hostKeyFile)], ident: 'Portcullis' }, (client, info) => {
    if (preAuth >= opts.maxPreAuth) {
      deps.log.warn({ addr: info.ip, preAuth }, 'ssh.preauth_limit');
      client.on('error', () => {});
      client.end();
      return;
    }
    preAuth++;
    let counted = true;
    new SshConnection(deps, client, info.ip, () => {
      if (counted) { counted = false; preAuth--; }
    });
  });
  server.on('error', (err: Error) => deps.log.error({ err: err.message }, 'ssh.listener_error'));
  return {
    name: 'ssh',
    start: () => new Promise<AddressInfo>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve(server.address() as AddressInfo));
    }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
