// session, vault (audit is in audit.ts).
import { type Command, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';
import { sessionShowCmd } from './recordings.js';
import { flagsInWords } from './session-flags.js';
import { sessionRevealCmd } from './reveal.js';

export const sessionCmd: Command = async (c) => {
  const [sub, id] = c.flags.positionals;
  switch (sub) {
    case 'list': {
      const live = c.flags.bool('live');
      const rows = await c.api().get<Array<Record<string, unknown>>>(`/api/v1/sessions${live ? '?live=1' : sessionListQuery(c)}`);
      const cols = live ? ['id', 'protocol', 'user', 'target', 'level', 'started_at', 'expires_at', 'node']
        : ['id', 'protocol', 'user', 'target', 'level', 'started_at', 'ended_at', 'end_reason', 'node', 'risk_score', 'flags'];
      printList(c.out, c.json, c.json ? rows : rows.map(flagsInWords), cols);
      return 0;
    }
    case 'show':
      return sessionShowCmd(c);
    case 'reveal':
      return sessionRevealCmd(c);
    case 'kill':
      if (!id) usage('portcullis session kill ID');
      printOne(c.out, c.json, await c.api().post(`/api/v1/sessions/${enc(id)}/kill`));
      return 0;
    default:
      usage('portcullis session list [--live | --flagged] [--min-score N] [--order score] | show ID [--full] | kill ID | reveal ID [--at T | --span N] [--channel N] [--reason TEXT]');
  }
};

/** --flagged, --min-score N and --order score|started as the API's query (a score filter sorts by score unless told). */
function sessionListQuery(c: Parameters<Command>[0]): string {
  const q = new URLSearchParams();
  if (c.flags.bool('flagged')) q.set('flagged', '1');
  const min = c.flags.opt('min-score');
  if (min !== undefined) {
    if (!/^\d{1,9}$/.test(min)) usage('portcullis session list --min-score N (a whole number)');
    q.set('min_score', min);
  }
  const order = c.flags.opt('order') ?? (c.flags.bool('flagged') || min !== undefined ? 'score' : undefined);
  if (order !== undefined) {
    if (order !== 'score' && order !== 'started') usage('portcullis session list --order score|started');
    q.set('order', order);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const vaultCmd: Command = async (c) => {
  if (c.flags.positionals[0] !== 'rotate-key') usage('portcullis vault rotate-key [--keep-old]');
  const r = await c.api().post<{ key_id: string; resealed: number; old_key: string }>('/api/v1/vault/rotate-key', { keep_old: c.flags.bool('keep-old') });
  if (c.json) printOne(c.out, true, r);
  else {
    const old = r.old_key === 'removed' ? 'the previous key file was removed'
      : r.old_key === 'kept' ? 'the previous key is kept in master.key.old (--keep-old)'
        : 'the previous key is kept in master.key.old: not every value could be verified with the new key file; check the gateway log';
    c.out.write(`master key rotated (new key ${r.key_id}); ${r.resealed} secrets re-encrypted; ${old}\n`);
  }
  return r.old_key === 'kept-unverified' ? 1 : 0;
};
