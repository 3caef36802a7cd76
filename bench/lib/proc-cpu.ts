// CPU time of another process, read from /proc/PID/stat (utime + stime), and the machine's idle
// share from /proc/stat: the benchmarks report CPU per unit of work next to every throughput figure.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime + stime of the process (its threads included), in µs. */
export function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** A reader of CPU µs spent by a process since the call (NaN once the process is gone). */
export function cpuMeter(pid: number): () => number {
  const start = processCpuUs(pid);
  return () => { try { return processCpuUs(pid) - start; } catch { return Number.NaN; } };
}

function machineTicks(): { idle: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: (cpu[3] ?? 0) + (cpu[4] ?? 0), total: cpu.reduce((a, b) => a + b, 0) };
}

/** A reader of the machine's idle share (0..1) since the call. */
export function idleMeter(): () => number {
  const a = machineTicks();
  return () => { const b = machineTicks(); return (b.idle - a.idle) / Math.max(1, b.total - a.total); };
}

/** utime + stime of the process and of its children it has reaped (cutime + cstime), in µs. */
export function processTreeCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * TICK_US;
}

/** Pids of the live children of a process (from /proc/PID/task/TID/children). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  } catch { /* gone */ }
  return out;
}

/**
 * CPU µs of a forking server (socat `fork`: one child per connection) since the call: its own and
 * that of every child that ran meanwhile. A child's CPU reaches the parent's cutime/cstime only once
 * the parent has reaped it, so the reader waits (up to 5 s) until no child is left, then reads.
 */
export function forkingCpuMeter(pid: number): () => Promise<number> {
  const start = processTreeCpuUs(pid);
  return async () => {
    for (let i = 0; i < 100 && childPids(pid).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    if (childPids(pid).length > 0) return Number.NaN;
    return processTreeCpuUs(pid) - start;
  };
}
