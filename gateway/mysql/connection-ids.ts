// Gateway-made connection ids (sent in the greeting) mapped to the target's thread ids, so that
// `KILL [QUERY] <id>` from a client's second connection (the mysql client's Ctrl-C) reaches the
// right upstream thread, and only for the same user on the same target. Every gateway user shares
// the target account, so an id that is not mapped must never pass through: it could name another
// user's thread on the target.
// With several nodes behind a load balancer the second connection may land on another node: a
// bound id is also recorded in the cluster's directory (an injected port: this folder never
// imports the store), and an id not bound here is looked up there. The directory answers only
// for a live session of the same user on the same target; anything else stays unknown.
import { randomInt } from 'node:crypto';

interface Entry { userId: string; targetId: string; upstreamId: number }

/** A bound id's owner, as the cluster directory records it. */
export interface BoundConnection extends Entry { sessionId: string }

/** Connection ids of every node (gateway/cluster/mysql-connections.ts implements it on the store). */
export interface ConnectionDirectory {
  /** Records the id for the cluster; false when another node's connection already holds it. */
  claim(id: number, c: BoundConnection): Promise<boolean>;
  forget(id: number): Promise<void>;
  /** The thread id for an id bound on any node to a live session of this user on this target, or null. */
  lookup(id: number, userId: string, targetId: string): Promise<number | null>;
}

export class ConnectionIds {
  private readonly map = new Map<number, Entry>();
  /** Ids this node asked the directory to record, and whether it did. */
  private readonly claims = new Map<number, Promise<boolean>>();

  constructor(
    private readonly directory: ConnectionDirectory | null = null,
    /** The directory could not record an id (taken elsewhere, or the store failed): KILL from other nodes will not find it. */
    private readonly onUnshared: (id: number, why: string) => void = () => {},
  ) {}

  allocate(): number {
    for (;;) {
      const id = randomInt(1000, 2 ** 31 - 1);
      if (!this.map.has(id)) return id;
    }
  }

  /**
   * Binds an id to a session's upstream thread. The id was already sent in the greeting, so a
   * clash with another node (one in ~2^31 per live connection) cannot be retried: the id then works
   * on this node only, and other nodes keep resolving it to the session that recorded it first
   * (still checked for the same user and target).
   */
  bind(id: number, e: BoundConnection): void {
    this.map.set(id, { userId: e.userId, targetId: e.targetId, upstreamId: e.upstreamId });
    if (!this.directory) return;
    this.claims.set(id, this.directory.claim(id, e).then(
      (ok) => { if (!ok) this.onUnshared(id, 'the id is taken on another node'); return ok; },
      (err: unknown) => { this.onUnshared(id, err instanceof Error ? err.message : String(err)); return false; },
    ));
  }

  release(id: number): void {
    this.map.delete(id);
    const claim = this.claims.get(id);
    if (!claim || !this.directory) return;
    this.claims.delete(id);
    const directory = this.directory;
    // Only a record this node made is removed: a clash left the id to the other node's connection.
    void claim.then((ok) => ok ? directory.forget(id) : undefined).catch((err: unknown) =>
      this.onUnshared(id, `not forgotten: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** The target's thread id for `id`, when it belongs to this user on this target on this node. */
  resolve(id: number, userId: string, targetId: string): number | null {
    const e = this.map.get(id);
    return e && e.userId === userId && e.targetId === targetId ? e.upstreamId : null;
  }

  /** As resolve, for an id bound on another node (null without a directory, or when it fails). */
  async resolveElsewhere(id: number, userId: string, targetId: string): Promise<number | null> {
    if (!this.directory || this.map.has(id)) return null;
    try {
      return await this.directory.lookup(id, userId, targetId);
    } catch {
      return null;
    }
  }
}
