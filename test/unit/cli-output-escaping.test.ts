// CLI tables (gateway/cli/output.ts runs every cell through terminalSafe) print names read from
// targets (discovery) and from the store: a name carrying a newline, a carriage return, an escape
// sequence or a bidi override must show as visible escapes, never forge or hide a row, or drive the
// admin's terminal. The table is rebuilt here the way output.ts lays it out (nothing imports gateway/cli).
import { describe, expect, it } from 'vitest';
import { terminalSafe } from '../../gateway/util/terminal-safe.js';

const cell = (v: unknown): string => (Array.isArray(v) ? terminalSafe(v.join(',')) || '-' : terminalSafe(String(v)));
const capture = (): { write: (t: string) => void; text: () => string } => {
  const parts: string[] = [];
  return { write: (t) => { parts.push(t); }, text: () => parts.join('') };
};
const printList = (out: { write: (t: string) => void }, _json: boolean, rows: Array<Record<string, unknown>>, columns: string[]): void => {
  out.write(columns.map((c) => c.toUpperCase()).join('  ') + '\n');
  for (const r of rows) out.write(columns.map((c) => cell(r[c])).join('  ') + '\n');
};
const printOne = (out: { write: (t: string) => void }, _json: boolean, value: Record<string, unknown>): void => {
  for (const [k, v] of Object.entries(value)) out.write(`${k}: ${cell(v)}\n`);
};

describe('CLI table output', () => {
  it('escapes control characters and bidi overrides in cells of discovered account names', () => {
    const out = capture();
    const forged = 'evil\nops_admin  superuser  yes  provisioner';
    printList(out, false, [
      { account: forged, privileges: ['superuser'], managed: 'NO' },
      { account: 'hide\r\u001b[2K\u001b]0;title\u0007', privileges: [], managed: 'NO' },
      { account: 'x\u202e\u0085\u2028y', privileges: ['a\u001bb'], managed: 'NO' },
    ], ['account', 'privileges', 'managed']);
    const text = out.text();
    // Header plus one line per row: the newline in a name forged no row.
    expect(text.split('\n').filter((l) => l.length > 0)).toHaveLength(4);
    // eslint-disable-next-line no-control-regex
    expect(text.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(text).toContain('evil\\u000aops_admin');
    expect(text).toContain('hide\\u000d\\u001b[2K\\u001b]0;title\\u0007');
    expect(text).toContain('x\\u202e\\u0085\\u2028y');
    expect(text).toContain('a\\u001bb');
  });

  it('escapes them in single-record output too, and leaves ordinary text alone', () => {
    const out = capture();
    printOne(out, false, { name: 'db1', note: 'a\tb', path: 'C:\\x' });
    expect(out.text()).toBe('name: db1\nnote: a\\u0009b\npath: C:\\x\n');
  });
});
