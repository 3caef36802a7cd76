// A PostgreSQL impostor for the TLS trick: it answers the SSLRequest with 'S' like the genuine
// server and then presents its own certificate (see tls-impostor.ts for what it records).
import { type ImpostorCert, startTlsImpostor, type TlsImpostor } from './tls-impostor.js';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export function startPgTlsImpostor(cert: ImpostorCert): Promise<TlsImpostor> {
  return startTlsImpostor(cert, (socket, noteClear, upgrade) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 8) return;
      socket.off('data', onData);
      noteClear(buf.subarray(0, 8));
      if (!buf.subarray(0, 8).equals(SSL_REQUEST)) { noteClear(buf.subarray(8)); socket.destroy(); return; }
      socket.write('S');
      upgrade(buf.subarray(8));
    };
    socket.on('data', onData);
  });
}
