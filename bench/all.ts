// Every benchmark suite in one run, one after the other on a quiet machine, written to
// bench/results/YYYY-MM-DD-HHMM.json (every figure, with the machine and the commit) and .md (the
// tables the README quotes). Ratios only count within one run: each suite measures its reference
// (direct, PgBouncer, socat, the bare Node relay) in the same run as Portcullis.
//   npm run bench                      (every suite)
//   BENCH_SUITES=postgres,mysql npm run bench
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { markdown, passes, type SuiteResult } from './lib/results.js';

/** Suites in run order: the module under bench/ exporting `run(): Promise<SuiteResult>`. */
const SUITES = ['postgres', 'mysql', 'ssh', 'ssh-scale', 'ephemeral-setup'];

const ROOT = join(import.meta.dirname, '..', '..');
const wanted = process.env.BENCH_SUITES ? process.env.BENCH_SUITES.split(',') : SUITES;

function machine(): Record<string, string | number> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.split(' ') ?? [];
  const git = (args: string[]): string => { try { return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return 'unknown'; } };
  return {
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain']) === '' ? 'no' : 'yes',
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpuFlags: ['aes', 'sha_ni', 'avx2', 'avx512f'].filter((f) => flags.includes(f)).join(' '),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
  };
}

const started = new Date();
const results: SuiteResult[] = [];
const failures: Array<{ suite: string; error: string }> = [];
for (const name of wanted) {
  if (!SUITES.includes(name)) throw new Error(`unknown suite ${name}; one of ${SUITES.join(', ')}`);
  process.stderr.write(`bench: ${name}\n`);
  try {
    const mod = await import(`./${name}.js`) as { run(): Promise<SuiteResult> };
    const r = await mod.run();
    results.push(r);
    console.log(`\n${markdown(r).join('\n')}\n`);
  } catch (e) {
    failures.push({ suite: name, error: e instanceof Error ? e.stack ?? e.message : String(e) });
    console.error(`bench ${name} failed:`, e);
  }
}

const m = machine();
const stamp = started.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${stamp}.json`), JSON.stringify({ started: started.toISOString(), finished: new Date().toISOString(), machine: m, suites: results, failures }, null, 2) + '\n');
const bars = results.flatMap((s) => s.rows.filter((r) => passes(r) !== null).map((r) => `| ${s.suite} | ${r.workload} | ${r.ratio!.value.toFixed(2)} | ${r.ratio!.lowerIsBetter ? '≤' : '≥'} ${r.ratio!.bar} | ${passes(r) ? 'meets' : 'below'} |`));
const md = [
  `# Portcullis benchmarks, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`, '',
  `Machine: ${m.cpus} × ${m.cpu} (${m.cpuFlags}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; commit ${m.commit}${m.dirty === 'yes' ? ' (with local changes)' : ''}.`,
  'Loopback only. Ratios compare figures of the same run. CPU is utime + stime of each relay process from /proc.', '',
  '## Bars', '', '| suite | workload | ratio | bar | |', '|---|---|---|---|---|', ...bars, '',
  ...results.flatMap((s) => [...markdown(s), '']),
  ...(failures.length ? ['## Suites that failed', '', ...failures.map((f) => `- ${f.suite}: ${f.error.split('\n')[0]}`), ''] : []),
].join('\n');
writeFileSync(join(dir, `${stamp}.md`), md);
console.log(`\nwritten: bench/results/${stamp}.json and .md`);
process.exit(failures.length ? 1 : 0);
