// audit, session, vault.
import { existsSync } from 'node:fs';
import type { AuditEntry, VerifyResult } from '../../audit/audit-log.js';
import { verifyChain } from '../../audit/audit-log.js';
import { dataPaths, defaultDataDir } from '../../config/data-dir.js';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.js';
import { type Command, type CommandContext, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';
import { sessionShowCmd } from './recordings.js';
import { sessionRevealCmd } from './reveal.js';

const PAGE = 5000;

async function* allEntries(c: CommandContext, after = 0): AsyncGenerator<AuditEntry> {
  for (;;) {
    const page = await c.api().get<AuditEntry[]>(`/api/v1/audit?after=${after}&limit=${PAGE}`);
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.seq;
  }
}

/** `audit verify` reads the store directly when it can (DESIGN §3), so it works with the server down. */
async function verifyLocally(c: CommandContext): Promise<VerifyResult | null> {
  const dir = c.data ?? (c.env.PORTCULLIS_URL ? undefined : defaultDataDir(c.env));
  if (!dir || !existsSync(dataPaths(dir).store)) return null;
  const store = openSqliteStore(dataPaths(dir).store);
  try {
    return await verifyChain(store);
  } finally {
    await store.close();
  }
}

export const auditCmd: Command = async (c) => {
  const sub = c.flags.positionals[0];
  switch (sub) {
    case 'list': {
      const after = Number(c.flags.opt('after') ?? 0);
      const limit = Number(c.flags.opt('limit') ?? 100);
      const rows = await c.api().get<AuditEntry[]>(`/api/v1/audit?after=${after}&limit=${limit}`);
      printList(c.out, c.json, rows.map((e) => ({ ...e, ts: new Date(e.ts).toISOString() })), ['seq', 'ts', 'code', 'actor', 'data']);
      return 0;
    }
    case 'verify': {
      const r = (await verifyLocally(c)) ?? await c.api().get<VerifyResult>('/api/v1/audit/verify');
      if (c.json) printOne(c.out, true, r);
      else if (r.ok) c.out.write(`audit chain intact: ${r.entries} entries, head ${r.head}\n`);
      else c.out.write(`audit chain BROKEN at entry ${r.firstBadSeq} (${r.problem}); ${r.entries} entries before it verify\n`);
      return r.ok ? 0 : 1;
    }
    case 'export': {
      for await (const e of allEntries(c)) c.out.write(JSON.stringify(e) + '\n');
      return 0;
    }
    default:
      usage('portcullis audit list|verify|export');
  }
};

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
