// Durations as people type them: 90s, 15m, 2h, 1d, or combined (1h30m). Parsed to milliseconds.
// Anything else is a `bad-duration` error naming the accepted forms. Also times in a recording
// (seconds or M:SS, as the player shows them).
import { PortcullisError } from './errors.js';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^(?:\d+[smhd])+$/;
const PART = /(\d+)([smhd])/g;
// Ten years: enough for any grant, small enough to stay exact in a double and a timer.
const MAX_MS = 10 * 365 * UNIT_MS.d!;

export function parseDuration(text: string): number {
  const s = text.trim().toLowerCase();
  if (s.length === 0 || s.length > 32 || !WHOLE.test(s)) {
    throw new PortcullisError('bad-duration', `malformed duration "${text}"; write e.g. 90s, 15m, 2h, 1d or 1h30m`);
  }
  let total = 0;
  for (const m of s.matchAll(PART)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (total <= 0) throw new PortcullisError('bad-duration', `duration "${text}" must be positive`);
  if (total > MAX_MS) throw new PortcullisError('bad-duration', `duration "${text}" is longer than ten years`);
  return total;
}

export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms / 1000);
  const out: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) { out.push(`${n}${unit}`); rest -= n * size; }
  }
  return out.join('') || '0s';
}

/** A time in a recording as the player shows it: "93.5", "93", "1:33" or "1:33.5" as seconds; null for anything else. */
export function parseClockTime(text: string): number | null {
  const m = /^(?:(\d{1,6}):)?(\d{1,9}(?:\.\d{1,6})?)$/.exec(text.trim());
  if (!m) return null;
  const s = Number(m[2]);
  if (m[1] !== undefined && s >= 60) return null;
  return (m[1] ? Number(m[1]) * 60 : 0) + s;
}
