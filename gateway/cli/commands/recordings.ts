// session show, export and play: recordings through the API (so every view is audited). A
// database session's statements come from the statements API, already in the recorder's one
// schema whatever gateway version recorded them.
import { parseEvent, parseHeader } from '../../../recorder/asciicast-reader.js';
import { displayFor } from '../../../recorder/cast-display.js';
import { castChannel, castFile, STATEMENTS_FILE } from '../../../recorder/layout.js';
import type { StatementFileSummary, StatementPage, StatementRecord } from '../../../recorder/statement-record.js';
import { type Command, type CommandContext, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';
import { flagsInWords } from './session-flags.js';

interface SessionDetail { id: string; started_at: string; recording: Array<{ file: string; bytes: number }> }

async function allStatements(c: CommandContext, id: string): Promise<{ statements: StatementRecord[]; read: StatementFileSummary }> {
  const statements: StatementRecord[] = [];
  const read: StatementFileSummary = { skipped: 0, newer: 0, truncated: false };
  for (let from: number | null = 0; from !== null;) {
    const page: StatementPage = await c.api().get<StatementPage>(`/api/v1/sessions/${enc(id)}/statements?from=${from}`);
    for (const s of page.statements) statements.push(s);
    read.skipped += page.skipped;
    read.newer += page.newer;
    read.truncated ||= page.truncated;
    from = page.next;
  }
  return { statements, read };
}

/** One table row per statement: offset from the session start like the player's #t= links. */
function statementRow(s: StatementRecord, startedAt: number): Record<string, unknown> {
  return {
    at: `+${((Date.parse(s.t) - startedAt) / 1000).toFixed(1)}s`, ms: s.duration_ms, path: s.path,
    returned: s.rows_returned, affected: s.rows_affected,
    result: s.error ? `${s.error.sqlstate || 'error'}${s.error.code === null ? '' : ` (${s.error.code})`}: ${s.error.message}` : s.command ?? 'ok',
    sql: s.sql.replace(/\s+/g, ' '),
  };
}

async function castText(c: CommandContext, id: string): Promise<string> {
  const detail = await c.api().get<SessionDetail>(`/api/v1/sessions/${enc(id)}`);
  const channel = c.flags.opt('channel');
  const casts = detail.recording.filter((f) => castChannel(f.file) !== null);
  const pick = channel ? casts.find((f) => f.file === castFile(Number(channel))) : casts[0];
  if (!pick) {
    const what = casts.length === 0 ? 'no terminal recording (database sessions have statements: portcullis session show)' : `no channel ${channel}; it has ${casts.map((f) => f.file).join(', ')}`;
    throw new Error(`session ${id} has ${what}`);
  }
  return c.api().text(`/api/v1/sessions/${enc(id)}/recording/${pick.file}`);
}

export const sessionShowCmd: Command = async (c) => {
  const id = c.flags.positionals[1];
  if (!id) usage('portcullis session show ID [--full]');
  const full = c.flags.bool('full');
  const detail = await c.api().get<SessionDetail>(`/api/v1/sessions/${enc(id)}`);
  if (!detail.recording.some((f) => f.file === STATEMENTS_FILE)) {
    printOne(c.out, c.json, c.json ? detail : flagsInWords(detail as unknown as Record<string, unknown>));
    return 0;
  }
  const { statements, read } = await allStatements(c, id);
  if (full) {
    // Statements over 64 KiB keep only their start and end inline; the whole text is a side file.
    // Likewise parameters over 64 KiB in all: the side file is their JSON array, whole.
    for (const s of statements) {
      if (s.sql_file) s.sql = await c.api().text(`/api/v1/sessions/${enc(id)}/recording/${s.sql_file}`);
      if (s.params_file) s.params = wholeParams(await c.api().text(`/api/v1/sessions/${enc(id)}/recording/${s.params_file}`), s.params);
    }
  }
  if (c.json) {
    printOne(c.out, true, { ...detail, statements, statements_read: read });
    return 0;
  }
  printOne(c.out, false, flagsInWords(detail as unknown as Record<string, unknown>));
  c.out.write('\n');
  printList(c.out, false, statements.map((s) => statementRow(s, Date.parse(detail.started_at))), ['at', 'ms', 'path', 'returned', 'affected', 'result', 'sql']);
  if (read.truncated) c.out.error('note: the statement log ends with a line cut short (the gateway stopped while recording)\n');
  if (read.skipped + read.newer > 0) c.out.error(`note: ${read.skipped} unreadable and ${read.newer} newer-format statement records left out\n`);
  return 0;
};

export const exportCmd: Command = async (c) => {
  const id = c.flags.positionals[0];
  if (!id) usage('portcullis export ID [--channel N] > session.cast');
  c.out.write(await castText(c, id));
  return 0;
};

export const playCmd: Command = async (c) => {
  const id = c.flags.positionals[0];
  if (!id) usage('portcullis play ID [--speed X] [--skip-idle] [--channel N]');
  const speed = Number(c.flags.opt('speed') ?? 1);
  if (!(speed > 0 && speed <= 1000)) usage('portcullis play ID --speed X   (X between 0 and 1000)');
  const skipIdle = c.flags.bool('skip-idle');
  const lines = (await castText(c, id)).split('\n').filter(Boolean);
  // A pipe cast (no terminal) plays as a transcript: input, stdout and stderr (cast-display.ts).
  const display = displayFor(parseHeader(lines[0] ?? ''));
  let last = 0;
  for (const line of lines.slice(1)) {
    const recorded = parseEvent(line);
    const e = recorded ? display(recorded) : null;
    if (!e || e[1] !== 'o') continue;
    // Idle gaps are capped at half a second with --skip-idle.
    const gap = Math.max(0, e[0] - last);
    last = e[0];
    const wait = (skipIdle ? Math.min(gap, 0.5) : gap) / speed;
    if (wait > 0.001) await new Promise((r) => setTimeout(r, wait * 1000));
    c.out.write(e[2]);
  }
  return 0;
};

/** A parameters side file's JSON array; the inline (shortened) ones if the file is not one. */
function wholeParams(text: string, inline: Array<string | null> | undefined): Array<string | null> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((p) => p === null || typeof p === 'string')) return v as Array<string | null>;
  } catch { /* falls through */ }
  return inline;
}
