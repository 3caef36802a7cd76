// Printing results: --json prints the value as is; otherwise a plain aligned table.
import { terminalSafe } from '../util/terminal-safe.js';

export interface Out {
  write(text: string): void;
  error(text: string): void;
}

export const stdio: Out = {
  write: (t) => { process.stdout.write(t); },
  error: (t) => { process.stderr.write(t); },
};

export function printList(out: Out, json: boolean, rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (json) {
    out.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  if (rows.length === 0) {
    out.write('(none)\n');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => cellText(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  out.write(line(columns.map((c) => c.toUpperCase())));
  for (const row of cells) out.write(line(row));
}

export function printOne(out: Out, json: boolean, value: unknown): void {
  if (json || typeof value !== 'object' || value === null) {
    out.write(JSON.stringify(value, null, 2) + '\n');
    return;
  }
  for (const [k, v] of Object.entries(value)) out.write(`${k}: ${cellText(v)}\n`);
}

// Cells carry names read from targets and the store: control characters are shown, never sent.
function cellText(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return terminalSafe(v.join(',')) || '-';
  if (typeof v === 'string') return terminalSafe(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? '-';
}
