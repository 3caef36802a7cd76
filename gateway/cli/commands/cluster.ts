// `portcullis node list [--json]`: the nodes of the cluster this gateway belongs to, from any node
// (admins). A single node on SQLite lists itself once it runs with membership, or nothing.
import type { NodeView } from '../../api-types.js';
import { type Command, usage } from '../command.js';
import { printList } from '../output.js';

export const nodeCmd: Command = async (c) => {
  if (c.flags.positionals[0] !== 'list') usage('portcullis node list [--json]');
  const rows = await c.api().get<NodeView[]>('/api/v1/nodes');
  // The table marks the answering node; --json keeps names as they are (it has `self`).
  printList(c.out, c.json, rows.map((r) => ({ ...r, name: r.self && !c.json ? `${r.name} *` : r.name })),
    ['name', 'state', 'version', 'last_heartbeat', 'heartbeat_age_s', 'started_at']);
  return 0;
};
