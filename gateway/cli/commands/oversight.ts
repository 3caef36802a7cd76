// session, vault (audit is in audit.ts).
import { type Command, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';
import { sessionShowCmd } from './recordings.js';
import { sessionRevealCmd } from './reveal.js';

export const sessionCmd: Command = async (c) => {
  const [sub, id] = c.flags.positionals;
  switch (sub) {
    case 'list': {
      const rows = await c.api().get<Array<Record<string, unknown>>>(`/api/v1/sessions${c.flags.bool('live') ? '?live=1' : ''}`);
      printList(c.out, c.json, rows, c.flags.bool('live') ? ['id', 'protocol', 'user', 'target', 'started_at', 'expires_at'] : ['id', 'protocol', 'user', 'target', 'started_at', 'ended_at', 'end_reason']);
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
      usage('portcullis session list [--live] | show ID [--full] | kill ID | reveal ID [--at T | --span N] [--channel N] [--reason TEXT]');
  }
};

export const vaultCmd: Command = async (c) => {
  if (c.flags.positionals[0] !== 'rotate-key') usage('portcullis vault rotate-key');
  const r = await c.api().post<{ key_id: string; resealed: number }>('/api/v1/vault/rotate-key');
  if (c.json) printOne(c.out, true, r);
  else c.out.write(`master key rotated (new key ${r.key_id}); ${r.resealed} secrets re-encrypted\n`);
  return 0;
};
