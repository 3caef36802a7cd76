// CPU time of another process, read from /proc/PID/stat (utime + stime), and the machine's idle
// share from /proc/stat: the benchmarks report CPU per unit of work next to every throughput figure.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
