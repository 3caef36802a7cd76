// `target fetch-cert --kind mysql`: reads a MySQL/MariaDB server's greeting, sends the SSL request
// packet (capabilities and charset only: no user name), completes the TLS handshake, reports the
// certificate presented and hangs up. It verifies nothing; the admin decides whether to pin it.
import { connect as tcpConnect } from 'node:net';
import { type CertificateInfo, tlsHandshake, UpstreamTlsError } from '../net/upstream-tls.js';
import { PacketQueue } from './packet-queue.js';
import { CAP, has } from './wire/capabilities.js';
import { encodeSslRequest, parseGreeting } from './wire/handshake.js';
import { packet } from './wire/packets.js';

const CAPS = CAP.LONG_PASSWORD | CAP.PROTOCOL_41 | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.SSL;

export async function fetchMyCertificate(host: string, port: number, caPem: string | null, timeoutMs: number): Promise<CertificateInfo> {
  const raw = tcpConnect({ host, port });
  const timer = setTimeout(() => raw.destroy(new UpstreamTlsError(`${host}:${port} did not answer in time`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', (e: NodeJS.ErrnoException) => reject(new UpstreamTlsError(`cannot connect to ${host}:${port} (${e.code ?? 'error'})`)));
    });
    const q = new PacketQueue(raw, 64 * 1024, () => new UpstreamTlsError(`${host}:${port} closed the connection before its greeting`));
    const first = await q.next();
    if (first.payload[0] === 0xff) throw new UpstreamTlsError(`${host}:${port} refused the connection`);
    const greeting = parseGreeting(first.payload);
    if (!has(greeting.caps, CAP.SSL)) throw new UpstreamTlsError(`${host}:${port} does not offer TLS (ssl not configured on the server?)`);
    raw.write(packet(first.seq + 1, encodeSslRequest(CAPS & greeting.caps | CAP.SSL, 0, 45)));
    q.detach();
    const h = await tlsHandshake(raw, host, caPem, timeoutMs);
    h.socket.destroy();
    return h.info;
  } catch (e) {
    throw e instanceof UpstreamTlsError ? e : new UpstreamTlsError(`${host}:${port} is not a MySQL server that offers TLS (${e instanceof Error ? e.message : 'error'})`);
  } finally {
    clearTimeout(timer);
    raw.destroy();
  }
}
