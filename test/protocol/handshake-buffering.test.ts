// The handshake readers of PostgreSQL (HandshakeReader) and MySQL (PacketQueue) hold a bounded
// amount of what a client sends before its login: past two messages' worth the socket is paused,
// and reading the next message resumes it. Found by the fuzz run: a client streaming megabytes
// before its login grew the gateway's memory. Real loopback sockets.
import { afterEach, describe, expect, it } from 'vitest';
import { HandshakeReader } from '../../gateway/postgres/handshake-reader.js';
import { PacketQueue } from '../../gateway/mysql/packet-queue.js';
import { closeSocketPairs, socketPair } from '../support/socket-pair.js';

afterEach(() => closeSocketPairs());

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));

function pgMessage(type: string, size: number): Buffer {
  const b = Buffer.alloc(1 + 4 + size, 0x61);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + size, 1);
  return b;
}

function myPacket(seq: number, size: number): Buffer {
  const b = Buffer.alloc(4 + size, 0x62);
  b.writeUIntLE(size, 0, 3);
  b[3] = seq;
  return b;
}

describe('handshake buffering is bounded', () => {
  it('PostgreSQL: 4 MB of pipelined messages are not read ahead; each message taken lets more in, and none is lost', async () => {
    const [client, server] = await socketPair();
    const reader = new HandshakeReader(server);
    const messages = Array.from({ length: 64 }, () => pgMessage('p', 64 * 1024 - 8));
    client.write(Buffer.concat(messages));
    await settle();
    expect(server.isPaused()).toBe(true);
    // What the gateway holds is bounded by the pause: less than the 4 MB sent (the kernel keeps the rest).
    expect(server.bytesRead).toBeLessThan(2 * 1024 * 1024);
    for (let i = 0; i < messages.length; i++) {
      const m = await reader.message();
      expect(m.type).toBe('p');
      expect(m.body.length).toBe(64 * 1024 - 8);
    }
    expect(reader.detach().length).toBe(0);
  });

  it('MySQL: 4 MB of packets are not read ahead; each packet taken lets more in, and none is lost', async () => {
    const [client, server] = await socketPair();
    const q = new PacketQueue(server, 64 * 1024, () => new Error('closed'));
    client.write(Buffer.concat(Array.from({ length: 64 }, (_, i) => myPacket(i, 64 * 1024 - 4))));
    await settle();
    expect(server.isPaused()).toBe(true);
    expect(server.bytesRead).toBeLessThan(2 * 1024 * 1024);
    for (let i = 0; i < 64; i++) {
      const p = await q.next();
      expect(p.seq).toBe(i);
      expect(p.payload.length).toBe(64 * 1024 - 4);
    }
  });

  it('detach hands over what was buffered and leaves the socket flowing for the next reader', async () => {
    const [client, server] = await socketPair();
    const reader = new HandshakeReader(server);
    client.write(Buffer.concat(Array.from({ length: 8 }, () => pgMessage('Q', 60 * 1024))));
    await settle();
    expect(server.isPaused()).toBe(true);
    const rest = reader.detach();
    const more: Buffer[] = [rest];
    server.on('data', (d: Buffer) => more.push(d));
    await settle();
    expect(Buffer.concat(more).length).toBe(8 * (5 + 60 * 1024));
  });
});
