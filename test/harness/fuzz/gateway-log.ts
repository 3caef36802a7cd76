// Reads a gateway's JSON log after a fuzz run: for each fuzz client address, the lines that say
// why its connection ended (message plus reason or HTTP status); lines at error level (internal
// errors: worth a look even when nothing crashed); and lines that are not JSON at all (a Node stack
// trace is what a crash leaves). Streams the file: a full run logs a few hundred MB.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface LogDigest {
  /** address → "message: reason" of each line logged for it. */
  byAddr: Map<string, string[]>;
  errors: Map<string, number>;
  notJson: string[];
  lines: number;
  /**
   * Lines without a client address, per message prefix (ssh, pg, mysql, http): a connection reset
   * before the gateway accepted it has none any more (getpeername fails), so its line says "unknown".
   */
  unknownAddr: Map<string, number>;
}

/** Numbers and hex in a reason vary per input; without them reasons group. */
export function normalizeReason(s: string): string {
  return s.replace(/0x[0-9a-f]+/gi, 'N').replace(/\d+/g, 'N').replace(/"[^"]{0,200}"/g, '"…"').slice(0, 140);
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
}

export async function digestLog(file: string, isFuzzAddr: (addr: string) => boolean): Promise<LogDigest> {
  const d: LogDigest = { byAddr: new Map(), errors: new Map(), notJson: [], lines: 0, unknownAddr: new Map() };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    d.lines++;
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      if (d.notJson.length < 50) d.notJson.push(line.slice(0, 300));
      continue;
    }
    const msg = text(j.msg);
    if (typeof j.level === 'number' && j.level >= 50) d.errors.set(msg, (d.errors.get(msg) ?? 0) + 1);
    const addr = typeof j.addr === 'string' ? j.addr.replace(/^::ffff:/, '') : null;
    if (addr === 'unknown' || (j.addr === undefined && 'port' in j)) {
      const prefix = msg.split('.')[0] ?? '';
      d.unknownAddr.set(prefix, (d.unknownAddr.get(prefix) ?? 0) + 1);
      continue;
    }
    if (!addr || !isFuzzAddr(addr)) continue;
    const why = j.reason !== undefined ? text(j.reason) : j.status !== undefined ? `status ${text(j.status)}` : '';
    const list = d.byAddr.get(addr) ?? [];
    list.push(why ? `${msg}: ${why}` : msg);
    d.byAddr.set(addr, list);
  }
  return d;
}
