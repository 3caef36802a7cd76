// How fast a cut was, on the gateway's own clock: from the audit entry of the change (a revoke, a
// user disabled, ...) to the end booked for the session it cut. The client-side time also holds the
// admin CLI's Node start-up, which on a loaded machine alone takes over a second.
import type { GatewayPeer } from './gateway.js';

interface Row { ts: number; code: string }
interface SessionRow { id: string; ended_at: string | null; end_reason: string | null }

/** Milliseconds from the newest `code` audit entry to the newest session that ended with `reason`. */
export function gatewayCutMs(gw: GatewayPeer, code: string, reason: string): number {
  const audit = gw.admin(['audit', 'export']).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
  const change = audit.filter((e) => e.code === code).at(-1);
  const ended = (JSON.parse(gw.admin(['session', 'list', '--json']).stdout) as SessionRow[])
    .filter((s) => s.end_reason === reason && s.ended_at !== null)
    .map((s) => Date.parse(s.ended_at!)).sort((a, b) => b - a)[0];
  if (!change || ended === undefined) throw new Error(`no ${code} audit entry or no session ended ${reason}`);
  return ended - change.ts;
}
