// `portcullis discover TARGET [--json]`: the target's privileged accounts, and which of them
// Portcullis manages; `--stored` prints what earlier runs found (every target, or TARGET) without
// logging in. Human output puts unmanaged accounts first: those are the standing accounts to remove.
import type { DiscoveryFindingView } from '../../api-types.js';
import { type Command, enc, usage } from '../command.js';
import { printList } from '../output.js';

const USAGE = 'portcullis discover TARGET [--json]   |   portcullis discover [TARGET] --stored [--json]';

export const discoverCmd: Command = async (c) => {
  const [target, extra] = c.flags.positionals;
  const stored = c.flags.bool('stored');
  if (extra !== undefined || (!target && !stored)) usage(USAGE);
  const api = c.api();
  const rows = stored
    ? await api.get<DiscoveryFindingView[]>(`/api/v1/discovery${target ? `?target=${enc(target)}` : ''}`)
    : await api.post<DiscoveryFindingView[]>(`/api/v1/targets/${enc(target!)}/discover`);
  if (c.json) {
    printList(c.out, true, rows as unknown as Array<Record<string, unknown>>, []);
    return 0;
  }
  // The API sorts a run's rows already; stored findings are sorted here the same way.
  const sorted = [...rows].sort((a, b) => Number(a.managed) - Number(b.managed) || a.target.localeCompare(b.target) || a.account.localeCompare(b.account));
  const table = sorted.map((r) => ({
    ...(stored ? { target: r.target } : {}),
    account: r.account, privileges: r.privileges, managed: r.managed ? 'yes' : 'NO', why: r.managed_as,
    ...(stored ? { first_seen: r.first_seen_at, last_seen: r.last_seen_at, gone: r.gone_at } : { new: r.new ? 'new' : '' }),
  }));
  const columns = stored
    ? ['target', 'account', 'privileges', 'managed', 'why', 'first_seen', 'last_seen', 'gone']
    : ['account', 'privileges', 'managed', 'why', 'new'];
  printList(c.out, false, table, columns);
  const present = sorted.filter((r) => r.gone_at === null);
  const unmanaged = present.filter((r) => !r.managed).length;
  c.out.write(unmanaged === 0
    ? `${present.length} privileged account(s); every one is managed by Portcullis\n`
    : `${present.length} privileged account(s); ${unmanaged} NOT managed by Portcullis: standing accounts to remove or bring under management\n`);
  return 0;
};
