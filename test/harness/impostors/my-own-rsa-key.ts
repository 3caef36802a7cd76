// A MySQL impostor that holds its own RSA key pair and wants the password encrypted to it:
// 'full-auth' asks for caching_sha2 full authentication (and sends its key when asked);
// 'unsolicited' sends its key right away without being asked. If it gets an RSA-encrypted
// password it decrypts it (that is what an impostor would do) and says the login worked.
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { type MyImpostor, NONCE, startMyImpostor } from './my-impostor.js';

export interface RsaImpostor extends MyImpostor {
  publicKeyPem: string;
  /** Passwords it decrypted from what the gateway sent. */
  decrypted: string[];
}

export async function startMyOwnRsaKeyImpostor(mode: 'full-auth' | 'unsolicited'): Promise<RsaImpostor> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keyPacket = Buffer.concat([Buffer.from([0x01]), Buffer.from(publicKeyPem, 'latin1')]);
  const decrypted: string[] = [];
  const base = await startMyImpostor(async (c) => {
    if (mode === 'unsolicited') {
      c.send(keyPacket);
    } else {
      c.send(Buffer.from([0x01, 0x04]));
      const ask = await c.next();
      if (!ask) return;
      if (ask.payload.length === 1 && ask.payload[0] === 0x02) c.send(keyPacket);
    }
    const blob = await c.next();
    if (!blob) return;
    try {
      const plain = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, blob.payload);
      decrypted.push(Buffer.from(plain.map((x, i) => x ^ NONCE[i % NONCE.length]!)).toString('utf8').replace(/\0$/, ''));
    } catch { /* not an RSA blob: still say yes, to see what else comes */ }
    await c.serveCommands();
  });
  return { ...base, publicKeyPem, decrypted };
}
