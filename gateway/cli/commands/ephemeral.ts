// `portcullis ephemeral list [--target T] [--limit N]`: the per-grant accounts Portcullis created on
// ephemeral targets, newest first, with their state and any drop failure (admins; never a secret).
import type { EphemeralAccountView } from '../../api-types.js';
import { type Command, usage } from '../command.js';
import { printList } from '../output.js';

export const ephemeralCmd: Command = async (c) => {
  if (c.flags.positionals[0] !== 'list') usage('portcullis ephemeral list [--target T] [--limit N] [--json]');
  const q = new URLSearchParams();
  const target = c.flags.opt('target');
  const limit = c.flags.opt('limit');
  if (target !== undefined) q.set('target', target);
  if (limit !== undefined) {
    if (!/^\d{1,4}$/.test(limit)) usage('--limit must be a whole number (up to 1000)');
    q.set('limit', limit);
  }
  const query = q.toString();
  const rows = await c.api().get<EphemeralAccountView[]>(`/api/v1/ephemeral-accounts${query ? `?${query}` : ''}`);
  printList(c.out, c.json, rows as unknown as Array<Record<string, unknown>>,
    ['account', 'target', 'user', 'level', 'state', 'created_at', 'expires_at', 'drop_attempts', 'last_error']);
  return 0;
};

