// A database session's statements as a table: time, duration, SQL, parameters, rows, errors.
import { api, el } from '../api.js';

interface Statement { t: string; duration_ms: number; sql: string; params?: Array<string | null>; rows?: number; affected_rows?: number; command?: string; error?: { code: string | number; message: string } }

export async function statementsPage(root: HTMLElement, id: string): Promise<void> {
  const text = await api.get<string>(`/api/v1/sessions/${id}/recording/statements.ndjson`);
  const rows = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Statement);
  const q = el('input', { placeholder: 'search SQL', id: 'sql-search' });
  const tbody = el('tbody');
  const render = (): void => {
    tbody.replaceChildren(...rows.filter((r) => r.sql.toLowerCase().includes(q.value.toLowerCase())).map((r) => el('tr', { class: r.error ? 'failed' : '' },
      el('td', {}, new Date(r.t).toLocaleTimeString()), el('td', {}, `${r.duration_ms} ms`), el('td', {}, el('pre', { class: 'sql' }, r.sql)),
      el('td', {}, r.params ? JSON.stringify(r.params) : ''), el('td', {}, String(r.rows ?? r.affected_rows ?? '')),
      el('td', {}, r.error ? `${r.error.code}: ${r.error.message}` : r.command ?? ''))));
  };
  q.addEventListener('input', render);
  render();
  root.replaceChildren(el('h2', {}, `Statements of ${id}`), el('div', { class: 'filters' }, q),
    el('table', { id: 'statements' }, el('thead', {}, el('tr', {}, ...['Time', 'Duration', 'SQL', 'Parameters', 'Rows', 'Result'].map((h) => el('th', {}, h)))), tbody));
}
