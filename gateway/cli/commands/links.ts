// link create|list|approve|revoke: one-time vendor links.
import type { LinkView } from '../../access/views.js';
import { type Command, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';

const USAGE = 'portcullis link create TARGET --ttl DUR [--uses N] [--label TEXT] [--session-max DUR] [--level L] | list | approve ID | revoke ID';
const COLUMNS = ['id', 'target', 'level', 'label', 'issuer', 'status', 'uses', 'uses_left', 'expires_at'];

export const linkCmd: Command = async (c) => {
  const [sub, arg] = c.flags.positionals;
  const api = c.api();
  switch (sub) {
    case 'create': {
      if (!arg) usage(USAGE);
      const uses = c.flags.opt('uses');
      const l = await api.post<LinkView & { url: string }>('/api/v1/links', {
        target: arg, ttl: c.flags.req('ttl', 'e.g. --ttl 2h'), label: c.flags.opt('label'),
        uses: uses === undefined ? undefined : Number(uses), session_max: c.flags.opt('session-max'), level: c.flags.opt('level'),
      });
      if (c.json) { printOne(c.out, true, l); return 0; }
      // The URL alone on stdout (for scripts); the rest on stderr.
      c.out.write(`${l.url}\n`);
      c.out.error(`link ${l.id} to ${l.target} for "${l.label}", ${l.uses_left} use(s), until ${l.expires_at}`
        + `${l.status === 'pending' ? '; it needs an approver first: portcullis link approve ' + l.id : ''}. The URL is shown only now.\n`);
      return 0;
    }
    case 'list':
      printList(c.out, c.json, await api.get<LinkView[]>('/api/v1/links') as unknown as Array<Record<string, unknown>>, COLUMNS);
      return 0;
    case 'approve':
    case 'revoke': {
      if (!arg) usage(USAGE);
      const l = await api.post<LinkView>(`/api/v1/links/${enc(arg)}/${sub}`);
      if (c.json) printOne(c.out, true, l);
      else c.out.write(`link ${l.id}: ${l.status}\n`);
      return 0;
    }
    default:
      return usage(USAGE);
  }
};
