// Gateway-made BackendKeyData for each session, mapped to the target's real one. A CancelRequest
// that names a gateway key is forwarded, as a fresh connection, to the target with the real key.
// With several nodes behind a load balancer a client's cancel connection can land on another node
// than its session: a key unknown here goes to the injected relay as the SHA-256 of "pid:key" (the
// key itself never leaves this node), and every node checks its own keys by that hash
// (`forwardHashed`); the owner forwards it. Anything else is dropped silently, as PostgreSQL does.
// The relay is a port: this folder never imports the cluster bus (composition wires it).
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { serialize } from 'pg-protocol';
import type { TargetRecord } from '../session/adapter.js';

interface Entry { target: TargetRecord; pid: number; key: Buffer }

/** Passes a cancel for a key this node does not know to the other nodes (and may refuse to: rate limits). */
export interface CancelRelay {
  /** `hash`: cancelHash(pid, key); `from`: the client address (what limits count). False when not passed on. */
  publish(hash: string, from: string): boolean;
}

/** What became of a CancelRequest (for the log line only: the client is told nothing either way). */
export type CancelOutcome = 'forwarded' | 'relayed' | 'unknown';

/** The SHA-256 (hex) of "pid:key" (key in hex): how a cancel key is named between nodes. */
export function cancelHash(pid: number, key: Buffer): string {
  return createHash('sha256').update(`${pid}:${key.toString('hex')}`).digest('hex');
}

export class CancelKeys {
  private readonly map = new Map<string, Entry>();
  /** The same entries by cancelHash, for cancels relayed from other nodes. */
  private readonly byHash = new Map<string, Entry>();

  constructor(private readonly relay: CancelRelay | null = null) {}

  issue(target: TargetRecord, upstreamPid: number, upstreamKey: Buffer): { pid: number; key: Buffer } {
    for (;;) {
      const pid = randomInt(1, 2 ** 31 - 1);
      const key = randomBytes(4);
      const id = `${pid}:${key.toString('hex')}`;
      if (this.map.has(id)) continue;
      const e = { target, pid: upstreamPid, key: upstreamKey };
      this.map.set(id, e);
      this.byHash.set(cancelHash(pid, key), e);
      return { pid, key };
    }
  }

  release(pid: number, key: Buffer): void {
    this.map.delete(`${pid}:${key.toString('hex')}`);
    this.byHash.delete(cancelHash(pid, key));
  }

  /** Forwards a cancel for a key of this node, or relays it to the others; `from`: the client's address. */
  forward(pid: number, key: Buffer, from = 'unknown'): CancelOutcome {
    const e = this.map.get(`${pid}:${key.toString('hex')}`);
    if (e) {
      send(e);
      return 'forwarded';
    }
    return this.relay?.publish(cancelHash(pid, key), from) ? 'relayed' : 'unknown';
  }

  /** Whether a key of this node's sessions has this cancelHash. */
  knows(hash: string): boolean {
    return this.byHash.has(hash);
  }

  /** A cancel another node relayed: forwarded when the key is one of this node's; true then. */
  forwardHashed(hash: string): boolean {
    const e = this.byHash.get(hash);
    if (!e) return false;
    send(e);
    return true;
  }
}

function send(e: Entry): void {
  const s = connect({ host: e.target.host, port: e.target.port });
  s.on('error', () => {});
  s.setTimeout(10_000, () => s.destroy());
  s.on('connect', () => {
    if (e.key.length === 4) s.end(serialize.cancel(e.pid, e.key.readInt32BE(0)));
    else s.destroy();
  });
}
