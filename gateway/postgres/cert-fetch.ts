// `target fetch-cert --kind postgres`: asks a PostgreSQL server for TLS the way a client does
// (SSLRequest, 'S'), completes the handshake, reports the certificate it presented and hangs up.
// Sends nothing else: no StartupMessage, no user name. It verifies nothing; the admin decides
// whether to pin what it shows.
import { connect as tcpConnect, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { type CertificateInfo, tlsHandshake, UpstreamTlsError } from '../net/upstream-tls.js';

export function fetchPgCertificate(host: string, port: number, caPem: string | null, timeoutMs: number): Promise<CertificateInfo> {
  return new Promise((resolve, reject) => {
    const raw: Socket = tcpConnect({ host, port });
    const timer = setTimeout(() => done(new UpstreamTlsError(`${host}:${port} did not answer in time`)), timeoutMs);
    const done = (err: Error | null, info?: CertificateInfo): void => {
      clearTimeout(timer);
      raw.destroy();
      if (err) reject(err); else resolve(info!);
    };
    raw.once('error', (e: NodeJS.ErrnoException) => done(new UpstreamTlsError(`cannot connect to ${host}:${port} (${e.code ?? 'error'})`)));
    raw.once('connect', () => {
      raw.write(serialize.requestSsl());
      raw.once('data', (b: Buffer) => {
        if (b[0] !== 0x53 /* S */ || b.length !== 1) { done(new UpstreamTlsError(`${host}:${port} does not accept TLS (not a PostgreSQL server with ssl on?)`)); return; }
        tlsHandshake(raw, host, caPem, timeoutMs).then((h) => { h.socket.destroy(); done(null, h.info); }, (e: unknown) => done(e instanceof Error ? e : new Error(String(e))));
      });
    });
  });
}
