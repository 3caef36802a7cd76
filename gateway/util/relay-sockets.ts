// Socket handling shared by the byte relays (PostgreSQL, MySQL).
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** Relays data without unbounded buffering: a full destination pauses the source until it drains. */
export function writeOrPause(dest: Writable, data: Buffer, source: Readable): void {
  if (!dest.write(data)) {
    source.pause();
    dest.once('drain', () => source.resume());
  }
}

/**
 * Ends both legs: the client gets its last bytes (end), the target is dropped. A client that does
 * not read those last bytes must not keep the socket forever.
 */
export function endLegs(client: Socket, upstream: Socket): void {
  client.end();
  upstream.destroy();
  setTimeout(() => client.destroy(), 2000).unref();
}
