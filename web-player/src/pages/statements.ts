// A database session's statements as a table: time, duration, SQL, parameters, rows, errors. Each
// row's offset is a link (#/session/ID?t=12.3, seconds since the session started, as search hits
// use); opening such a link highlights and scrolls to the statement running at that moment. The
// server hands out the recorder's one statement schema (older recordings upgraded), in pages. A
// statement over 64 KiB shows its start and end inline and a button that fetches its whole text
// from its side file (`sql_file`; every fetch is audited as a recording view).
import type { SessionFlagView } from '../../../gateway/api-types.js';
import type { StatementPage, StatementRecord as Statement } from '../../../recorder/statement-record.js';
import { apiFor, el } from '../api.js';
import type { PageLifecycle } from '../lifecycle.js';

/** Rows returned as a bare number (what a reader looks for first), rows affected said so. */
function rowCounts(r: Statement): string {
  const affected = r.rows_affected === null ? null : `${r.rows_affected} affected`;
  if (r.rows_returned === null) return affected ?? '';
  return affected === null ? String(r.rows_returned) : `${r.rows_returned}, ${affected}`;
}

/** SQLSTATE, MySQL's own error number when there is one, and the message. */
function result(r: Statement): string {
  if (!r.error) return r.command ?? '';
  return `${r.error.sqlstate || 'error'}${r.error.code === null ? '' : ` (${r.error.code})`}: ${r.error.message}`;
}

export async function statementsPage(root: HTMLElement, page: PageLifecycle, id: string, startedAt: string, at: number | null, query = '',
  flags: readonly SessionFlagView[] = []): Promise<void> {
  const api = apiFor(page);
  const rows: Statement[] = [];
  for (let from: number | null = 0; from !== null;) {
    const batch: StatementPage = await api.get<StatementPage>(`/api/v1/sessions/${id}/statements?from=${from}`);
    for (const s of batch.statements) rows.push(s);
    from = batch.next;
  }
  const zero = Date.parse(startedAt);
  const offset = (r: Statement): number => Math.max(0, (Date.parse(r.t) - zero) / 1000);
  // The statement at `at` (offsets are rounded to 0.1 s): among those in that tenth, the first that
  // matches the search query; else the first in it; else the last one before it.
  const inTenth = at === null ? [] : rows.filter((r) => Math.abs(offset(r) - at) <= 0.05);
  const target = at === null ? null
    : inTenth.find((r) => query && r.sql.toLowerCase().includes(query.toLowerCase())) ?? inTenth[0]
      ?? rows.filter((r) => offset(r) <= at).pop() ?? rows[0] ?? null;
  const q = el('input', { placeholder: 'search SQL', id: 'sql-search' });
  const tbody = el('tbody');
  // Whole texts fetched so far, kept across re-renders of the filtered table.
  const whole = new Map<Statement, string>();
  const sqlCell = (r: Statement): HTMLElement => {
    const pre = el('pre', { class: 'sql' }, whole.get(r) ?? r.sql);
    const file = r.sql_file;
    if (!file || whole.has(r)) return el('td', {}, pre);
    const more = el('button', { class: 'whole-sql', 'data-sql-file': file }, `Show the whole statement (${r.sql_bytes ?? '?'} bytes)`);
    page.listen(more, 'click', () => {
      more.setAttribute('disabled', '');
      void api.get<string>(`/api/v1/sessions/${id}/recording/${file}`).then((text) => {
        whole.set(r, text);
        pre.textContent = text;
        more.remove();
      });
    });
    return el('td', {}, pre, more);
  };
  // Parameters over 64 KiB in all are cut short inline; their side file is the whole JSON array.
  const wholeParams = new Map<Statement, string>();
  const paramsCell = (r: Statement): HTMLElement => {
    const text = wholeParams.get(r) ?? (r.params ? JSON.stringify(r.params) : '');
    const file = r.params_file;
    if (!file || wholeParams.has(r)) return el('td', {}, text);
    const pre = el('pre', { class: 'params' }, text);
    const more = el('button', { class: 'whole-params', 'data-params-file': file }, `Show all parameters (${r.params_bytes ?? '?'} bytes)`);
    page.listen(more, 'click', () => {
      more.setAttribute('disabled', '');
      void api.get<unknown>(`/api/v1/sessions/${id}/recording/${file}`).then((v) => {
        const whole = typeof v === 'string' ? v : JSON.stringify(v);
        wholeParams.set(r, whole);
        pre.textContent = whole;
        more.remove();
      });
    });
    return el('td', {}, pre, more);
  };
  // Risk flags as marker rows among the statements, at the time each was raised.
  const flagRow = (f: SessionFlagView): HTMLElement => {
    const t = Math.max(0, (Date.parse(f.at) - zero) / 1000);
    return el('tr', { class: 'flag', 'data-flag': f.kind },
      el('td', {}, `+${t.toFixed(1)} s`, ' ', new Date(f.at).toLocaleTimeString()), el('td', {}, ''),
      el('td', { colspan: '4' }, el('span', { class: `badge flag-${f.kind}` }, `flagged ${f.kind}`), ` ${f.detail} (+${f.weight})`));
  };
  // A search shows matching statements only; the flags come back with the whole list.
  const withFlags = (list: HTMLElement[], shown: Statement[]): HTMLElement[] => {
    if (q.value) return list;
    const out: HTMLElement[] = [];
    let i = 0;
    const sorted = [...flags].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    shown.forEach((r, n) => {
      while (i < sorted.length && Date.parse(sorted[i]!.at) < Date.parse(r.t)) out.push(flagRow(sorted[i++]!));
      out.push(list[n]!);
    });
    while (i < sorted.length) out.push(flagRow(sorted[i++]!));
    return out;
  };
  const render = (): void => {
    const shown = rows.filter((r) => r.sql.toLowerCase().includes(q.value.toLowerCase()));
    tbody.replaceChildren(...withFlags(shown.map((r) => el('tr', { class: `${r.error ? 'failed' : ''} ${r === target ? 'at' : ''}` },
      el('td', {}, el('a', { href: `#/session/${id}?t=${offset(r).toFixed(1)}`, title: new Date(r.t).toLocaleString() }, `+${offset(r).toFixed(1)} s`), ' ', new Date(r.t).toLocaleTimeString()), el('td', {}, `${r.duration_ms} ms`), sqlCell(r),
      paramsCell(r), el('td', {}, rowCounts(r)),
      el('td', {}, result(r)))), shown));
  };
  page.listen(q, 'input', render);
  render();
  root.replaceChildren(el('h2', {}, `Statements of ${id}`), el('div', { class: 'filters' }, q),
    el('table', { id: 'statements' }, el('thead', {}, el('tr', {}, ...['Time', 'Duration', 'SQL', 'Parameters', 'Rows', 'Result'].map((h) => el('th', {}, h)))), tbody));
  root.querySelector('tr.at')?.scrollIntoView({ block: 'center' });
}
