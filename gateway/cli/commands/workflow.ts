// request, requests, approve, deny, grant, breakglass.
import type { GrantView, RequestView } from '../../access/views.js';
import { type Command, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';

const REQUEST_COLUMNS = ['id', 'user', 'target', 'level', 'duration_s', 'status', 'reason', 'ticket', 'ticket_check', 'approvals', 'grant'];

/** The table's ticket_check cell: what the ticket system said, in a word and its reason (--json keeps the whole answer). */
const ticketCell = (r: RequestView): Record<string, unknown> => ({
  ...r, ticket_check: r.ticket_check ? `${r.ticket_check.valid ? 'valid' : 'invalid'}${r.ticket_check.reason ? ` (${r.ticket_check.reason})` : ''}` : '',
});
const GRANT_COLUMNS = ['id', 'user', 'target', 'level', 'source', 'status', 'expires_at', 'reason', 'needs_review'];

export const requestCmd: Command = async (c) => {
  const target = c.flags.positionals[0];
  if (!target) usage('portcullis request TARGET --for DUR --reason TEXT [--ticket ID] [--level L]');
  const r = await c.api().post<RequestView>('/api/v1/requests', {
    target, for: c.flags.req('for', 'e.g. --for 30m'), reason: c.flags.opt('reason'), ticket: c.flags.opt('ticket'), level: c.flags.opt('level'),
  });
  if (c.json) printOne(c.out, true, r);
  else if (r.status === 'approved') c.out.write(`request ${r.id} approved (${r.auto_approved ? 'auto-approved' : 'approved'}); grant ${r.grant} at level ${r.level}\n`);
  else c.out.write(`request ${r.id} is pending approval (${r.policy}); it expires at ${r.pending_until} if nobody decides\n`);
  return 0;
};

export const approveCmd: Command = async (c) => {
  const id = c.flags.positionals[0];
  if (!id) usage('portcullis approve ID');
  const r = await c.api().post<RequestView>(`/api/v1/requests/${enc(id)}/approve`);
  if (c.json) printOne(c.out, true, r);
  else c.out.write(r.status === 'approved' ? `request ${r.id} approved; grant ${r.grant}\n` : `approval recorded for ${r.id} (${r.approvals.length} so far); more approvals needed\n`);
  return 0;
};

export const denyCmd: Command = async (c) => {
  const id = c.flags.positionals[0];
  if (!id) usage('portcullis deny ID --reason TEXT');
  const r = await c.api().post<RequestView>(`/api/v1/requests/${enc(id)}/deny`, { reason: c.flags.req('reason', 'say why') });
  if (c.json) printOne(c.out, true, r);
  else c.out.write(`request ${r.id} denied\n`);
  return 0;
};

export const requestsCmd: Command = async (c) => {
  const [sub, id] = c.flags.positionals;
  if (sub === 'approve' || sub === 'deny') {
    c.flags.positionals.splice(0, 1);
    return sub === 'approve' ? approveCmd(c) : denyCmd(c);
  }
  if (sub !== undefined) usage(`portcullis requests [--pending] | approve ID | deny ID --reason TEXT (got "${sub}${id ? ' ' + id : ''}")`);
  const list = await c.api().get<RequestView[]>(`/api/v1/requests${c.flags.bool('pending') ? '?pending=1' : ''}`);
  printList(c.out, c.json, c.json ? list as unknown as Array<Record<string, unknown>> : list.map(ticketCell), REQUEST_COLUMNS);
  return 0;
};

export const grantCmd: Command = async (c) => {
  const [sub, id] = c.flags.positionals;
  const api = c.api();
  switch (sub) {
    case 'add': {
      const g = await api.post<GrantView>('/api/v1/grants', {
        user: c.flags.req('user'), target: c.flags.req('target'), for: c.flags.req('for', 'e.g. --for 30m'),
        reason: c.flags.req('reason', 'say why'), ticket: c.flags.opt('ticket'), level: c.flags.opt('level'),
      });
      printOne(c.out, c.json, g);
      return 0;
    }
    case 'list': {
      const list = await api.get<GrantView[]>(`/api/v1/grants${c.flags.bool('active') ? '?active=1' : ''}`);
      printList(c.out, c.json, list as unknown as Array<Record<string, unknown>>, GRANT_COLUMNS);
      return 0;
    }
    case 'revoke':
      if (!id) usage('portcullis grant revoke ID [--reason TEXT]');
      printOne(c.out, c.json, await api.post(`/api/v1/grants/${enc(id)}/revoke`, { reason: c.flags.opt('reason') }));
      return 0;
    case 'extend':
      if (!id) usage('portcullis grant extend ID --by DUR');
      printOne(c.out, c.json, await api.post(`/api/v1/grants/${enc(id)}/extend`, { by: c.flags.req('by', 'e.g. --by 15m') }));
      return 0;
    case 'review': {
      if (!id || c.flags.bool('accept') === c.flags.bool('deny')) usage('portcullis grant review ID --accept | --deny --reason TEXT');
      const verdict = c.flags.bool('accept') ? 'accepted' : 'denied';
      printOne(c.out, c.json, await api.post(`/api/v1/grants/${enc(id)}/review`, { verdict, reason: c.flags.opt('reason') }));
      return 0;
    }
    default:
      usage('portcullis grant add|list|revoke|extend|review');
  }
};

export const dbPasswordCmd: Command = async (c) => {
  const target = c.flags.positionals[0];
  if (!target) usage('portcullis db-password TARGET [--level L]');
  const r = await c.api().post<{ password: string; expires_at: string }>('/api/v1/db-password', { target, level: c.flags.opt('level') });
  if (c.json) printOne(c.out, true, r);
  else {
    // The password alone on stdout, so it can be piped into PGPASSWORD; the rest on stderr.
    c.out.write(r.password + '\n');
    c.out.error(`database password for ${target}, valid until ${r.expires_at}; a new one replaces it\n`);
  }
  return 0;
};

export const breakglassCmd: Command = async (c) => {
  const target = c.flags.positionals[0];
  if (!target) usage('portcullis breakglass TARGET --reason TEXT [--for DUR] [--level L]');
  const g = await c.api().post<GrantView>('/api/v1/breakglass', { target, reason: c.flags.opt('reason'), for: c.flags.opt('for'), level: c.flags.opt('level') });
  if (c.json) printOne(c.out, true, g);
  else c.out.write(`BREAK-GLASS grant ${g.id} on ${g.target} at level ${g.level} until ${g.expires_at}. Approvers were alerted and will review it.\n`);
  return 0;
};
