// KILL through the gateway: every user of a target shares the target's account, and a MySQL account
// may kill any of its own threads, so a KILL passed as sent could end another user's session (or
// the gateway's). Clients only know the connection ids the gateway made up (greeting), so each KILL
// is mapped: a gateway id this user's session owns on this target becomes the target's thread id;
// anything else refuses the whole command in MySQL words. Covers COM_QUERY and COM_STMT_PREPARE
// texts (every spelling, via sql/kill-scan.ts) and COM_PROCESS_KILL. Pure: the relay forwards,
// answers and records.
import { rewriteKills, scanKills } from './sql/kill-scan.js';
import { COM } from './statement-log.js';

export const COM_PROCESS_KILL = 0x0c;

/** The target's thread id for a gateway connection id this user's session owns, or null. */
export type ResolveThread = (gatewayId: number) => number | null;

export type KillDecision =
  /** No KILL in it: forward as sent. */
  | { kind: 'pass' }
  /** Every KILL mapped: forward this payload instead. */
  | { kind: 'rewrite'; payload: Buffer }
  /** Refuse the whole command with this MySQL error; `at`: offset in the payload of the KILL or construct refused. */
  | { kind: 'refuse'; code: number; sqlstate: string; message: string; at: number };

const PASS: KillDecision = Object.freeze({ kind: 'pass' });

/** Decides a command payload (command byte first) that may kill a thread. */
export function mapKills(payload: Buffer, resolve: ResolveThread): KillDecision {
  const cmd = payload[0];
  if (cmd === COM_PROCESS_KILL) {
    if (payload.length !== 5) return refuse(1094, 'Unknown thread id', 0);
    const id = payload.readUInt32LE(1);
    const upstream = resolve(id);
    if (upstream === null) return refuse(1094, `Unknown thread id: ${id}`, 0);
    const out = Buffer.from(payload);
    out.writeUInt32LE(upstream >>> 0, 1);
    return { kind: 'rewrite', payload: out };
  }
  if (cmd !== COM.QUERY && cmd !== COM.STMT_PREPARE) return PASS;
  const text = payload.subarray(1);
  const scan = scanKills(text);
  switch (scan.kind) {
    case 'none': return PASS;
    case 'refuse': return { kind: 'refuse', code: 1095, sqlstate: 'HY000', message: `Portcullis: ${scan.reason}`, at: scan.at + 1 };
    case 'kills': {
      const upstream = new Map<number, number>();
      for (const t of scan.targets) {
        const u = resolve(t.id);
        // As the server words it for a thread that is not there: to this user it is not.
        if (u === null) return refuse(1094, `Unknown thread id: ${t.id}`, t.start + 1);
        upstream.set(t.id, u);
      }
      const rewritten = rewriteKills(text, scan.targets, (id) => upstream.get(id)!);
      return { kind: 'rewrite', payload: Buffer.concat([payload.subarray(0, 1), rewritten]) };
    }
  }
}

function refuse(code: number, message: string, at: number): KillDecision {
  return { kind: 'refuse', code, sqlstate: 'HY000', message, at };
}

/**
 * The gateway connection ids a command would kill (empty when it kills nothing or would be refused
 * whatever they map to): what must be resolved, possibly on other nodes, before mapKills decides.
 */
export function killIds(payload: Buffer): number[] {
  const cmd = payload[0];
  if (cmd === COM_PROCESS_KILL) return payload.length === 5 ? [payload.readUInt32LE(1)] : [];
  if (cmd !== COM.QUERY && cmd !== COM.STMT_PREPARE) return [];
  const scan = scanKills(payload.subarray(1));
  return scan.kind === 'kills' ? scan.targets.map((t) => t.id) : [];
}
