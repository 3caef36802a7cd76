// Words for what the self-service pages show: durations, approval paths, windows. Pure text from the
// API's fields, shared by the catalog, the request form and "My access"; nothing here renders.
import type { AutoApproveView, CatalogPolicyView, CatalogWindowView } from '../../../gateway/api-types.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** 5400 → "1h 30m"; 45 → "45s". */
export function duration(s: number): string {
  const d = Math.floor(s / 86_400), h = Math.floor((s % 86_400) / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', sec && s < 3600 ? `${sec}s` : ''].filter(Boolean);
  return parts.join(' ') || '0s';
}

/** A countdown: "1:02:03", "4:05". */
export function countdown(s: number): string {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

function days(list: number[]): string {
  if (list.length === 0 || list.length === 7) return 'every day';
  return list.map((d) => DAYS[d] ?? String(d)).join(', ');
}

const hhmm = (min: number): string => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

/** "Mon, Tue 09:00-17:00 Europe/Berlin". */
export function windowText(w: CatalogWindowView | null): string {
  if (!w) return 'any time';
  const hours = w.from_minute === null || w.to_minute === null ? 'all day' : `${hhmm(w.from_minute)}-${hhmm(w.to_minute)}`;
  return `${days(w.days)} ${hours} ${w.zone}`;
}

function autoText(a: AutoApproveView): string {
  const when = [a.days.length ? days(a.days) : '', a.fromHour !== null && a.toHour !== null ? `${a.fromHour}:00-${a.toHour}:00 UTC` : ''].filter(Boolean).join(' ');
  const who = [a.roles.length ? `role ${a.roles.join(' or ')}` : '', a.onCall.length ? `on call (${a.onCall.join(', ')})` : ''].filter(Boolean).join(', ');
  return ['auto-approved', who && `for ${who}`, when && `on ${when}`].filter(Boolean).join(' ');
}

/** How a request under this policy is approved, as the requester will meet it now. */
export function approvalText(p: CatalogPolicyView): string {
  if (p.approvals_required === 0) return 'auto-approved';
  const needs = `needs ${p.approvals_required} approval${p.approvals_required > 1 ? 's' : ''} from ${p.approver_roles.join(' or ')}`;
  if (p.auto_now) return `auto-approved now (${p.auto_approve ? autoText(p.auto_approve) : 'auto'}); otherwise ${needs}`;
  return p.auto_approve ? `${needs} (${autoText(p.auto_approve)}, not now)` : needs;
}

/** What the ticket must be: "none", "required (INC-…)", "+ checked with the ticket system". */
export function ticketText(p: CatalogPolicyView): string {
  if (p.ticket_pattern === null) return p.ticket_check ? 'checked with the ticket system' : 'not needed';
  return `required, matching /${p.ticket_pattern}/${p.ticket_check ? ', checked with the ticket system' : ''}`;
}
