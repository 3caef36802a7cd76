// One shape for every benchmark's figures, so `npm run bench` can put them in one dated table
// (bench/results/) and each suite can still be run and printed on its own.
import { pathToFileURL } from 'node:url';

export interface Row {
  /** What was run, e.g. "pgbench -S -M simple". */
  workload: string;
  /** Unit of `values`, e.g. "tx/s". */
  unit: string;
  /** One figure per path (direct, pgbouncer, bare node relay, portcullis...). */
  values: Record<string, number>;
  /** CPU per unit of work per path where it was measured, e.g. µs/tx. */
  cpu?: Record<string, number>;
  cpuUnit?: string;
  /** The headline ratio: values[of] / values[to], and the bar it must meet (higher is better unless `lowerIsBetter`). */
  ratio?: { of: string; to: string; value: number; bar?: number; lowerIsBetter?: boolean };
}

export interface SuiteResult {
  suite: string;
  title: string;
  rows: Row[];
  notes: string[];
}

export function ratioRow(row: Omit<Row, 'ratio'>, of: string, to: string, bar?: number, lowerIsBetter = false): Row {
  const a = row.values[of], b = row.values[to];
  const value = a !== undefined && b !== undefined && b !== 0 ? a / b : Number.NaN;
  return { ...row, ratio: { of, to, value, ...(bar === undefined ? {} : { bar }), lowerIsBetter } };
}

export function passes(r: Row): boolean | null {
  if (!r.ratio || r.ratio.bar === undefined || !Number.isFinite(r.ratio.value)) return null;
  return r.ratio.lowerIsBetter ? r.ratio.value <= r.ratio.bar : r.ratio.value >= r.ratio.bar;
}

const fmt = (v: number | undefined): string => v === undefined ? '' : !Number.isFinite(v) ? '–' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);

/** The suite as Markdown table lines (also readable on a terminal). */
export function markdown(s: SuiteResult): string[] {
  const paths = [...new Set(s.rows.flatMap((r) => Object.keys(r.values)))];
  const cpuPaths = [...new Set(s.rows.flatMap((r) => Object.keys(r.cpu ?? {})))];
  const head = ['workload', 'unit', ...paths, ...cpuPaths.map((p) => `CPU ${p}`), 'ratio', 'bar', ''];
  const lines = [`### ${s.title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of s.rows) {
    const ok = passes(r);
    lines.push(`| ${[
      r.workload, r.unit + (r.cpuUnit ? ` (CPU ${r.cpuUnit})` : ''),
      ...paths.map((p) => fmt(r.values[p])), ...cpuPaths.map((p) => fmt(r.cpu?.[p])),
      r.ratio ? `${fmt(r.ratio.value)} (${r.ratio.of}/${r.ratio.to})` : '',
      r.ratio?.bar !== undefined ? `${r.ratio.lowerIsBetter ? '≤' : '≥'} ${r.ratio.bar}` : '',
      ok === null ? '' : ok ? 'meets' : 'below',
    ].join(' | ')} |`);
  }
  if (s.notes.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
  return lines;
}

/** Runs the suite when its file is the program itself (`node dist/bench/postgres.js`), prints it and exits. */
export function runIfMain(moduleUrl: string, run: () => Promise<SuiteResult>): void {
  if (process.argv[1] === undefined || pathToFileURL(process.argv[1]).href !== moduleUrl) return;
  run().then((s) => { console.log(`\n${markdown(s).join('\n')}\n`); process.exit(0); },
    (e: unknown) => { console.error(e); process.exit(1); });
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Idle shares of the machine (0–1) as the notes print them: "17% 15% 12%". */
export const percents = (xs: number[]): string => xs.map((x) => `${(x * 100).toFixed(0)}%`).join(' ');
