// Gateway-made connection ids (sent in the greeting) mapped to the target's thread ids, so that
// `KILL [QUERY] <id>` from a client's second connection (the mysql client's Ctrl-C) reaches the
// right upstream thread, and only for the same user on the same target. Every gateway user shares
// the target account, so an id that is not mapped must never pass through: it could name another
// user's thread on the target.
import { randomInt } from 'node:crypto';

interface Entry { userId: string; targetId: string; upstreamId: number }

export class ConnectionIds {
  private readonly map = new Map<number, Entry>();

  allocate(): number {
    for (;;) {
      const id = randomInt(1000, 2 ** 31 - 1);
      if (!this.map.has(id)) return id;
    }
  }

  bind(id: number, e: Entry): void {
    this.map.set(id, e);
  }

  release(id: number): void {
    this.map.delete(id);
  }

  /** The target's thread id for `id`, when it belongs to this user on this target. */
  resolve(id: number, userId: string, targetId: string): number | null {
    const e = this.map.get(id);
    return e && e.userId === userId && e.targetId === targetId ? e.upstreamId : null;
  }
}
