// Webhook bodies: a Slack incoming webhook reads `text`; other receivers read the structured fields.
import type { AccessEvents } from '../access/events.js';

export type WebhookEvent = keyof AccessEvents;

export interface WebhookBody {
  text: string;
  event: WebhookEvent;
  at: string;
  data: AccessEvents[WebhookEvent];
  /** Where to act on it in the web console (a pending request: the page that approves it). */
  url?: string;
}

/**
 * The console page an event asks someone to act on: a pending request opens on the requests page
 * an approver approves it from. `consoleUrl` is the gateway's own public URL (config), never a
 * value from the event, so a request cannot point approvers elsewhere.
 */
export function webhookLink<K extends WebhookEvent>(event: K, p: AccessEvents[K], consoleUrl: string | null): string | undefined {
  if (!consoleUrl || event !== 'request.created') return undefined;
  const r = (p as AccessEvents['request.created']).request;
  if (r.status !== 'pending') return undefined;
  return `${consoleUrl.replace(/\/+$/, '')}/#/requests/${encodeURIComponent(r.id)}`;
}

const LOGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function atLevel(target: string, level: string | undefined): string {
  return level === undefined || level === 'default' ? target : `${target} at level ${level}`;
}
// Names read from a target (accounts, groups) are whatever its admin (or an intruder) chose: shown
// only when they hold nothing a chat client would render as markup or a link.
const TARGET_WORD = /^[A-Za-z0-9][A-Za-z0-9._@'%:$-]{0,99}$/;
const targetWord = (v: unknown): string => (typeof v === 'string' && TARGET_WORD.test(v) ? `\`${v}\`` : '(a name with unusual characters; see the console)');

function mib(bytes: unknown): string {
  return `${(Number(bytes) / 2 ** 20).toFixed(1)} MiB`;
}

export function webhookText<K extends WebhookEvent>(event: K, p: AccessEvents[K], consoleUrl: string | null = null): string {
  const d = p as Partial<AccessEvents[WebhookEvent]> & Record<string, unknown>;
  const g0 = 'grant' in d ? (d as { grant: { user: string; target: string; expires_at: string; reason: string; id: string; level?: string } }).grant : null;
  const r0 = 'request' in d ? (d as { request: { user: string; target: string; duration_s: number; reason: string; ticket: string | null; id: string; level?: string } }).request : null;
  // The target as "db01 at level write"; the implicit "default" level is left unsaid (targets without levels read as before).
  const g = g0 && { ...g0, target: atLevel(g0.target, g0.level) };
  const r = r0 && { ...r0, target: atLevel(r0.target, r0.level) };
  switch (event) {
    case 'request.created': {
      const link = webhookLink(event, p, consoleUrl);
      return `:key: ${r!.user} requests ${r!.target} for ${r!.duration_s}s: "${r!.reason}"${r!.ticket ? ` (${r!.ticket})` : ''} [${r!.id}]${link ? ` — approve or deny: ${link}` : ''}`;
    }
    case 'request.approved': return `:white_check_mark: ${String(d.approver)} approved ${r!.user} on ${r!.target} [${r!.id}]`;
    case 'request.denied': return `:no_entry: ${String(d.approver)} denied ${r!.user} on ${r!.target}: "${String(d.reason)}" [${r!.id}]`;
    case 'request.expired': return `:hourglass: request by ${r!.user} for ${r!.target} expired unanswered [${r!.id}]`;
    case 'grant.created': return `:unlock: ${g!.user} has access to ${g!.target} until ${g!.expires_at} [${g!.id}]`;
    case 'grant.extended': return `:arrow_forward: ${String(d.by)} extended ${g!.user} on ${g!.target} until ${g!.expires_at} [${g!.id}]`;
    case 'grant.revoked': return `:lock: ${String(d.by)} revoked ${g!.user} on ${g!.target}: "${String(d.reason)}" [${g!.id}]`;
    case 'grant.expiring': return `:alarm_clock: ${g!.user}'s access to ${g!.target} ends in ${Math.round(Number(d.inMs) / 1000)}s [${g!.id}]`;
    case 'grant.expired': return `:lock: ${g!.user}'s access to ${g!.target} expired [${g!.id}]`;
    case 'breakglass.used': return `:rotating_light: BREAK-GLASS: ${g!.user} took access to ${g!.target} until ${g!.expires_at}: "${g!.reason}" — needs review [${g!.id}]`;
    case 'breakglass.reviewed': return `:mag: ${String(d.by)} ${String(d.verdict)} break-glass by ${g!.user} on ${g!.target} [${g!.id}]`;
    case 'recordings.space_low': return d.error
      ? `:rotating_light: Portcullis cannot check its recordings volume ${String(d.dir)} (${typeof d.error === 'string' ? d.error : 'unknown error'}): new sessions are refused`
      : `:rotating_light: Portcullis recordings volume ${String(d.dir)} is below its watermark (${mib(d.free_bytes)} free, needs ${mib(d.watermark_bytes)}): new sessions are refused and sessions that must be recorded were ended; free space to let users back in`;
    case 'recordings.space_restored': return `:white_check_mark: Portcullis recordings volume ${String(d.dir)} has room again (${mib(d.free_bytes)} free): sessions start again`;
    case 'audit.checkpoint': return `:lock: audit checkpoint on ${String(d.node)}: seq ${String(d.seq)}, head ${String(d.hash).slice(0, 16)}… (${String(d.reason)})`;
    case 'ephemeral.drop_failing': return `:rotating_light: Portcullis cannot drop ephemeral account ${String(d.account)} on ${String(d.target)} ` +
      `(${String(d.attempts)} attempts; last: ${String(d.error)}): the grant has ended at the gateway, but the account still exists on the target; it is retried [${String(d.grant)}]`;
    case 'ephemeral.abandoned': return `:rotating_light: ${String(d.by)} abandoned ephemeral account ${String(d.account)} on ${String(d.target)} (${String(d.reason)}): ` +
      `it may still exist on the target; remove it there by hand [${String(d.grant)}]`;
    case 'credential.rotation_failed': return d.outcome === 'stuck'
      ? `:rotating_light: rotating the credential of ${String(d.target)} failed at ${String(d.step)} (${String(d.reason)}) and neither the old nor the new secret logs in: enter it again with portcullis target update ${String(d.target)}`
      : `:warning: rotating the credential of ${String(d.target)} failed at ${String(d.step)} (${String(d.reason)}); the vault holds the ${d.outcome === 'committed-new' ? 'new' : 'old'} secret, which logs in`;
    case 'discovery.unmanaged_found': {
      const privs = Array.isArray(d.privileges) ? d.privileges.map(targetWord).join(', ') : '';
      return `:rotating_light: unmanaged privileged account ${targetWord(d.account)} on ${String(d.target)} (${privs}): a standing account Portcullis does not manage; remove it or bring it under management`;
    }
    case 'node.lost': return `:rotating_light: Portcullis node ${targetWord(d.node)} stopped (last heartbeat ${String(d.last_heartbeat)}): ${Number(d.sessions)} live sessions on it were ended (node-lost); its users can connect again through another node`;
    // The detail can be a statement or command the user chose: no chat markup, bounded.
    case 'session.flagged': return `:triangular_flag_on_post: session ${String(d.session)} of ${targetWord(d.user)} on ${targetWord(d.target)} flagged ${String(d.flag)}: `
      + `${String(d.detail).replace(/[<>&`*_~|]/g, ' ').slice(0, 300)} (+${Number(d.weight)}, score ${Number(d.score)})`;
    case 'discovery.failed': return `:warning: discovery of privileged accounts on ${String(d.target)} failed: ${String(d.error).replace(/[<>&`*_~|]/g, ' ').slice(0, 300)} (no further alert until it succeeds again)`;
    case 'auth.locked': {
      // The name is whatever the client sent: shown only when it is a valid name (no Slack markup).
      const who = typeof d.user === 'string' && LOGIN_NAME.test(d.user) ? d.user : 'a name that is not valid';
      const more = Number(d.suppressed) > 0 ? ` (${Number(d.suppressed)} more locks since the last alert)` : '';
      return (d.scope === 'address'
        ? `:rotating_light: Portcullis locked logins from ${String(d.addr)} until ${String(d.until)}: too many failed logins under any name`
        : d.scope === 'account'
          ? `:rotating_light: Portcullis locked password logins for ${who} from every address until ${String(d.until)}: too many failed logins (SSH keys still work)`
          : `:warning: Portcullis locked logins for ${who} from ${String(d.addr)} until ${String(d.until)}: too many failed logins`) + more;
    }
    default: return `${String(event)}`;
  }
}
