// The TCP socket under an ssh2 connection (client or server side). ssh2 keeps it as `_sock` and
// offers no accessor; the cut needs it to stop reading the client and to hold the target's writes
// for one turn of the event loop (connection.ts). Read in this one place, and checked for shape:
// a future ssh2 without it leaves the cut as it was (nothing paused or held), never broken.
import type { Socket } from 'node:net';

export function rawSocket(conn: object | null): Socket | null {
  const s = conn === null ? undefined : (conn as { _sock?: unknown })._sock;
  return s !== null && typeof s === 'object' && typeof (s as Socket).pause === 'function' && typeof (s as Socket).cork === 'function' ? s as Socket : null;
}
