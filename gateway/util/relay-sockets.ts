// Socket handling shared by the byte relays (PostgreSQL, MySQL).
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** Destinations already waiting for 'drain' (one listener each, however many writes fill them). */
const draining = new WeakSet<Writable>();

/**
 * Relays data without unbounded buffering: a full destination pauses the source until it drains.
 * One chunk can carry many messages written one by one after the destination filled (a 16 MiB
 * statement as views); they share one drain listener rather than adding one per write.
 */
export function writeOrPause(dest: Writable, data: Buffer, source: Readable): void {
  if (dest.write(data) || draining.has(dest)) return;
  draining.add(dest);
  source.pause();
  dest.once('drain', () => { draining.delete(dest); source.resume(); });
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
