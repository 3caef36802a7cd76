// Sockets whose own side the gateway has ended (a refusal, a cancel request, an HTTP error, the
// end of a relay) are destroyed a little later even if the peer never closes its side. Without
// this, a peer that keeps its half open holds a file descriptor for ever: the fuzz run left 1,143
// fds behind in FIN-WAIT-2 after ~300k malformed connections. No protocol here needs to read from
// a client after the gateway has said its last word, so the grace only lets the last bytes go out.
import type { Socket } from 'node:net';

export const HALF_CLOSE_GRACE_MS = 5_000;

export function destroyAfterOwnEnd(socket: Socket, graceMs = HALF_CLOSE_GRACE_MS): void {
  socket.once('finish', () => {
    if (socket.destroyed) return;
    const t = setTimeout(() => socket.destroy(), graceMs);
    t.unref();
    socket.once('close', () => clearTimeout(t));
  });
}
