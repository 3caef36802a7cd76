// An impostor database server that answers the protocol's TLS upgrade with a certificate of the
// test's choosing (self-signed with the genuine name, a rogue CA's, the right CA's for another
// name...) and then only listens: it records what the gateway sent in clear before TLS and every
// byte it sent inside TLS. The point of the tests: a gateway that refuses the certificate sends
// nothing inside TLS at all (no StartupMessage, no user name, no password, no SCRAM message, no
// HandshakeResponse). The protocol tricks are the two small files beside this one.
import { createServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket } from 'node:tls';

export interface ImpostorCert { certPem: string; keyPem: string }

export interface TlsImpostor {
  port: number;
  /** TCP connections accepted. */
  connections(): number;
  /**
   * Encrypted bytes the client sent after the upgrade (its ClientHello and handshake records): more
   * than zero means a TLS handshake was under way. A refusing client may hang up before its own
   * Finished leaves, so a completed handshake on this side is not something to count on.
   */
  tlsBytes(): number;
  /** Everything received in clear before the TLS upgrade, per connection, concatenated. */
  clear(): Buffer;
  /** Everything received inside TLS, all connections. */
  insideTls(): Buffer;
  stop(): Promise<void>;
}

/**
 * `speak(socket, upgrade)` runs the protocol's part in clear and calls `upgrade(rest)` when the TLS
 * handshake is due, with whatever it read past its last clear message (the ClientHello may come in
 * the same segment); the clear bytes it reads it reports through `noteClear`.
 */
export type ClearPhase = (socket: Socket, noteClear: (b: Buffer) => void, upgrade: (rest: Buffer) => void) => void;

export async function startTlsImpostor(cert: ImpostorCert, speak: ClearPhase): Promise<TlsImpostor> {
  let connections = 0;
  let tlsBytes = 0;
  const clear: Buffer[] = [];
  const inside: Buffer[] = [];
  const sockets = new Set<Socket>();
  const context = createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  const server: Server = createServer((raw) => {
    connections++;
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    speak(raw, (b) => clear.push(Buffer.from(b)), (rest) => {
      // A plain duplex over the socket, so bytes already read are not lost to the TLS layer.
      const stream = new Duplex({
        read: () => undefined,
        write: (chunk: Buffer, _enc, cb) => { raw.write(chunk, cb); },
        final: (cb) => { raw.end(); cb(); },
        destroy: (_e, cb) => { raw.destroy(); cb(null); },
      });
      tlsBytes += rest.length;
      if (rest.length) stream.push(rest);
      raw.on('data', (d: Buffer) => { tlsBytes += d.length; stream.push(d); });
      raw.on('end', () => stream.push(null));
      const tls = new TLSSocket(stream, { isServer: true, secureContext: context });
      sockets.add(tls);
      tls.on('error', () => undefined);
      tls.on('data', (d: Buffer) => inside.push(Buffer.from(d)));
      tls.on('close', () => sockets.delete(tls));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    tlsBytes: () => tlsBytes,
    clear: () => Buffer.concat(clear),
    insideTls: () => Buffer.concat(inside),
    stop: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
