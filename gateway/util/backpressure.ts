// Relaying one stream's data into another without unbounded buffering: when the destination's
// buffer is full, the source is paused until it drains.
import type { Readable, Writable } from 'node:stream';

export function writeOrPause(dest: Writable, data: Buffer, source: Readable): void {
  if (!dest.write(data)) {
    source.pause();
    dest.once('drain', () => source.resume());
  }
}
