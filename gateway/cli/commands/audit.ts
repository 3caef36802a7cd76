// `portcullis audit list|verify|export`. verify reads the data dir directly when it is here (the
// server may be down), else asks the API; it prints the first bad entry and why, or what the
// chain's integrity rests on (keyed from which seq, checkpoints, entries no checkpoint covers yet).
import { existsSync } from 'node:fs';
import type { AuditEntry, VerifyResult } from '../../audit/audit-log.js';
import { verifyDataDir } from '../../audit/verify-offline.js';
import { dataPaths, defaultDataDir } from '../../config/data-dir.js';
import { usage, type Command, type CommandContext } from '../command.js';
import { printList, printOne } from '../output.js';

const PAGE = 5000;

async function* allEntries(c: CommandContext, after = 0): AsyncGenerator<AuditEntry> {
  for (;;) {
    const page = await c.api().get<AuditEntry[]>(`/api/v1/audit?after=${after}&limit=${PAGE}`);
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.seq;
  }
}

async function verifyLocally(c: CommandContext): Promise<VerifyResult | null> {
  const dir = c.data ?? (c.env.PORTCULLIS_URL ? undefined : defaultDataDir(c.env));
  if (!dir || !existsSync(dataPaths(dir).store)) return null;
  return verifyDataDir(dir, c.env, { checkpointsFile: c.flags.opt('checkpoints') });
}

export function describeVerify(r: VerifyResult): string {
  if (!r.ok) {
    const where = r.firstBadSeq !== null ? `at entry ${r.firstBadSeq}` : `in checkpoint line ${r.checkpointLine ?? '?'}`;
    return `audit chain BROKEN ${where} (${r.problem}): ${r.detail}; ${r.entries} entries before it verify\n`;
  }
  const lines = [`audit chain intact: ${r.entries} entries, head ${r.head}`];
  lines.push(r.keyedFrom === null ? '  keyed: no (plain SHA-256 links only)' : `  keyed from seq ${r.keyedFrom}${r.keyedFrom > 1 ? ` (seq 1-${r.keyedFrom - 1}: plain SHA-256 links from before keying)` : ''}`);
  lines.push(r.lastCheckpoint
    ? `  checkpoints: ${r.checkpoints}, last at seq ${r.lastCheckpoint.seq} (${r.lastCheckpoint.at}, node ${r.lastCheckpoint.node}); ${r.uncovered} newer entries not covered yet`
    : '  checkpoints: none');
  if (r.signingKey) lines.push(`  signing key: ed25519 ${r.signingKey}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
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
      else c.out.write(describeVerify(r));
      return r.ok ? 0 : 1;
    }
    case 'export': {
      for await (const e of allEntries(c)) c.out.write(JSON.stringify(e) + '\n');
      return 0;
    }
    default:
      usage('portcullis audit list | verify [--checkpoints FILE] | export');
  }
};
