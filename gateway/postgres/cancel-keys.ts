// Gateway-made BackendKeyData for each session, mapped to the target's real one. A CancelRequest
// that names a gateway key is forwarded, as a fresh connection, to the target with the real key;
// any other CancelRequest is dropped silently, as PostgreSQL itself does.
import { randomBytes, randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { serialize } from 'pg-protocol';
import type { TargetRecord } from '../session/adapter.js';

interface Entry { target: TargetRecord; pid: number; key: Buffer }

export class CancelKeys {
  private readonly map = new Map<string, Entry>();

  issue(target: TargetRecord, upstreamPid: number, upstreamKey: Buffer): { pid: number; key: Buffer } {
    for (;;) {
      const pid = randomInt(1, 2 ** 31 - 1);
      const key = randomBytes(4);
      const id = `${pid}:${key.toString('hex')}`;
      if (this.map.has(id)) continue;
      this.map.set(id, { target, pid: upstreamPid, key: upstreamKey });
      return { pid, key };
    }
  }

  release(pid: number, key: Buffer): void {
    this.map.delete(`${pid}:${key.toString('hex')}`);
  }

  /** Forwards a cancel for a known key; returns whether the key was known. */
  forward(pid: number, key: Buffer): boolean {
    const e = this.map.get(`${pid}:${key.toString('hex')}`);
    if (!e) return false;
    const s = connect({ host: e.target.host, port: e.target.port });
    s.on('error', () => {});
    s.setTimeout(10_000, () => s.destroy());
    s.on('connect', () => {
      if (e.key.length === 4) s.end(serialize.cancel(e.pid, e.key.readInt32BE(0)));
      else s.destroy();
    });
    return true;
  }
}
