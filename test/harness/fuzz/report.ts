// Prints a fuzz campaign's report as plain text: per listener the inputs, inputs/s, who closed the
// connections and the most frequent logged reasons; then crashes, gateway errors, resources and the
// live sessions' pings.
import type { CampaignReport, ListenerReport } from './campaign.js';

/** Inputs with no line in the log, beyond those the address-less lines account for. */
export function unexplained(l: ListenerReport): number {
  return Math.max(0, l.unlogged - l.loggedWithoutAddress);
}

export function formatReport(r: CampaignReport, topReasons = 12): string {
  const out: string[] = [`fuzz seed ${r.seed}`];
  for (const l of r.listeners) {
    out.push('', `${l.listener}: ${l.inputs} inputs in ${(l.ms / 1000).toFixed(1)} s = ${Math.round(l.inputs / (l.ms / 1000))} inputs/s; gateway peak RSS ${l.peakRssMb} MB`);
    out.push(`  closed by: ${Object.entries(l.closedBy).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push(`  endings sent: ${Object.entries(l.endings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push(`  with a logged reason: ${l.inputs - l.unlogged} by address; ${l.loggedWithoutAddress} lines without an address (reset before accept); unexplained: ${unexplained(l)}`);
    for (const e of l.unloggedExamples) out.push(`    unlogged: ${e}`);
    out.push('  closes by logged reason:');
    for (const [reason, n] of l.reasons.slice(0, topReasons)) out.push(`    ${String(n).padStart(7)}  ${reason}`);
    if (l.reasons.length > topReasons) out.push(`    ${String(l.reasons.slice(topReasons).reduce((s, [, n]) => s + n, 0)).padStart(7)}  (${l.reasons.length - topReasons} other reasons)`);
  }
  out.push('', `gateway process alive: ${r.gatewayAlive}; listeners accepting: ${JSON.stringify(r.listenersAccepting)}`);
  out.push(`crash traces / non-JSON log lines: ${r.notJson.length}`);
  for (const l of r.notJson.slice(0, 10)) out.push(`  ${l}`);
  out.push(`error-level log lines: ${r.errors.length === 0 ? 'none' : r.errors.map(([m, n]) => `${m} ×${n}`).join(', ')}`);
  out.push(`gateway RSS MB before/peak/after: ${r.before.rssMb} / ${r.peak.rssMb} / ${r.after.rssMb}; open fds before/peak/after: ${r.before.fds} / ${r.peak.fds} / ${r.after.fds}`);
  out.push(`log lines read: ${r.logLines}`);
  for (const [name, p] of Object.entries(r.pings)) out.push(`live ${name}: ${p.ok} pings answered, ${p.failed} failed, median ${p.medianMs} ms, max ${p.maxMs} ms`);
  return out.join('\n');
}
