// A MySQL/MariaDB impostor for the TLS trick: a greeting that offers TLS (and caching_sha2, so a
// gateway that went on would have to send the password's scramble), the client's SSL request
// packet read in clear, then its own certificate (see tls-impostor.ts for what it records).
import { randomBytes } from 'node:crypto';
import { CAP } from '../../../gateway/mysql/wire/capabilities.js';
import { encodeGreeting } from '../../../gateway/mysql/wire/handshake.js';
import { packet } from '../../../gateway/mysql/wire/packets.js';
import { type ImpostorCert, startTlsImpostor, type TlsImpostor } from './tls-impostor.js';

const CAPS = CAP.LONG_PASSWORD | CAP.FOUND_ROWS | CAP.LONG_FLAG | CAP.CONNECT_WITH_DB | CAP.PROTOCOL_41 | CAP.SSL | CAP.TRANSACTIONS |
  CAP.SECURE_CONNECTION | CAP.MULTI_STATEMENTS | CAP.MULTI_RESULTS | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA;

export function startMysqlTlsImpostor(cert: ImpostorCert): Promise<TlsImpostor> {
  return startTlsImpostor(cert, (socket, noteClear, upgrade) => {
    socket.write(packet(0, encodeGreeting({
      serverVersion: '10.11.6-MariaDB', connectionId: 7, nonce: randomBytes(20), caps: CAPS, extCaps: 0, charset: 45, status: 2,
      plugin: 'caching_sha2_password',
    })));
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const len = buf.readUIntLE(0, 3);
      if (buf.length < 4 + len) return;
      socket.off('data', onData);
      noteClear(buf.subarray(0, 4 + len));
      // Anything but the 32-byte SSL request (e.g. a HandshakeResponse in clear) ends it here.
      if (len !== 32) { noteClear(buf.subarray(4 + len)); socket.destroy(); return; }
      upgrade(buf.subarray(4 + len));
    };
    socket.on('data', onData);
  });
}
