// Weekly windows in local time, the one parser and clock for all of them: a policy's access window
// (`--window`), its auto-approval window (`--auto-approve-window`) and the risk watch's business
// hours. Syntax: "mon-fri 09:00-17:00 Europe/Berlin", "sat,sun 10:00-14:00", "22:00-06:00
// America/New_York", "mon-fri" (whole days), the older "mon-fri 09-17" (whole hours); no zone: UTC.
// Meaning, on the zone's wall clock (zone-clock.ts):
//   - a window crossing midnight belongs to the day it starts on: "fri 22:00-06:00" is open on
//     Saturday at 03:00 and not on Friday at 03:00;
//   - each bound is the first moment the clock shows that time or later on that day: a time the
//     spring change skips (02:30 in Europe/Berlin on the last Sunday of March) opens or closes the
//     window when the clock jumps (03:00 CEST); a time the autumn change repeats counts the first
//     time it happens, and the window stays open through the repeated hour in between.
// Does not know about policies or grants (decider.ts, requests.ts, risk/ use it).
import type { AccessWindow, AutoApprove } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { canonicalZone, firstInstantAt, localDay, wallClock, weekdayOf, zoneAbbreviation } from './zone-clock.js';

export type { AccessWindow };

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** Monday first, for describing runs of days the way people write them. */
const WEEK_ORDER = [1, 2, 3, 4, 5, 6, 0];
const EXAMPLE = 'write e.g. "mon-fri 09:00-17:00 Europe/Berlin", "sat,sun 10:00-14:00" or "22:00-06:00 America/New_York" (no zone: UTC)';
const DAY_MS = 86_400_000;
/** How far a chain of touching periods is followed before the window counts as never closing. */
const CHAIN_DAYS = 8;

/** Parses a window; `what` names the setting in errors ("--window", "risk.businessHours"). */
export function parseWindow(text: string, what = 'window'): AccessWindow {
  const raw = String(text);
  const shown = JSON.stringify(raw.length > 80 ? raw.slice(0, 80) + '…' : raw);
  const bad = (why: string): never => { throw new PortcullisError('bad-request', `${what}: ${why} in ${shown}; ${EXAMPLE}`); };
  if (raw.length > 200) bad('too long');
  const tokens = raw.trim().split(/\s+/).filter((t) => t.length > 0);
  if (tokens.length === 0) bad('no days or hours');
  let days: number[] | null = null;
  let hours: { from: number; to: number } | null = null;
  let zone: string | null = null;
  for (const token of tokens) {
    const t = token.toLowerCase();
    if (/^[\d:]+-[\d:]+$/.test(t)) {
      if (hours) bad('two time ranges');
      hours = parseHours(t, bad);
    } else if (/^[a-z]{3}(?:-[a-z]{3})?(?:,[a-z]{3}(?:-[a-z]{3})?)*$/.test(t) && DAY_NAMES.includes(t.slice(0, 3))) {
      if (days) bad('two lists of days');
      days = parseDays(t, bad);
    } else {
      if (zone) bad(`"${token.slice(0, 64)}" is neither days, hours nor a second time zone`);
      zone = canonicalZone(token) ?? bad(`unknown time zone or word "${token.slice(0, 64)}" (a zone is an IANA name such as Europe/Berlin)`);
    }
  }
  if (!days && !hours) bad('no days or hours');
  return { days: days ?? [], fromMinute: hours?.from ?? null, toMinute: hours?.to ?? null, zone: zone ?? 'UTC' };
}

/**
 * A window given whole (API callers and the store hand over records, not text): the same rules as
 * the parser, so nothing reaches the clock that the parser would have refused.
 */
export function checkWindow(w: AccessWindow): void {
  const bad = (why: string): never => { throw new PortcullisError('bad-request', `window: ${why}`); };
  if (!Array.isArray(w.days) || w.days.length > 7 || !w.days.every((d) => Number.isInteger(d) && d >= 0 && d <= 6)) bad('days must be weekdays 0-6');
  const minute = (m: unknown): boolean => Number.isInteger(m) && (m as number) >= 0 && (m as number) <= 1440;
  if ((w.fromMinute === null) !== (w.toMinute === null)) bad('give both ends of the hours or neither');
  if (w.fromMinute !== null && (!minute(w.fromMinute) || !minute(w.toMinute) || w.fromMinute === 1440 || w.fromMinute === w.toMinute)) bad('hours out of range or empty');
  if (typeof w.zone !== 'string' || canonicalZone(w.zone) === null) bad(`unknown time zone ${JSON.stringify(String(w.zone).slice(0, 64))}`);
  if (w.days.length === 0 && w.fromMinute === null) bad('no days or hours');
}

/** For settings where "off" or "" means no window (risk.businessHours). */
export function parseOptionalWindow(text: string, what: string): AccessWindow | null {
  const t = String(text).trim().toLowerCase();
  return t === '' || t === 'off' ? null : parseWindow(text, what);
}

function parseHours(t: string, bad: (why: string) => never): { from: number; to: number } {
  const m = /^(\d{1,2})(?::(\d{2}))?-(\d{1,2})(?::(\d{2}))?$/.exec(t) ?? bad(`malformed hours "${t}"`);
  const minute = (h: string, mm: string | undefined): number => {
    const hh = Number(h);
    const mi = mm === undefined ? 0 : Number(mm);
    if (hh > 24 || mi > 59 || (hh === 24 && mi !== 0)) bad(`no such time of day "${h}${mm === undefined ? '' : ':' + mm}"`);
    return hh * 60 + mi;
  };
  const from = minute(m[1]!, m[2]);
  const to = minute(m[3]!, m[4]);
  if (from === 24 * 60) bad('a window cannot start at 24:00 (write 00:00)');
  if (from === to) bad(`hours "${t}" are empty (from equals to)`);
  return { from, to };
}

function parseDays(t: string, bad: (why: string) => never): number[] {
  const days = new Set<number>();
  for (const piece of t.split(',')) {
    const [a, b] = piece.split('-').map((n) => DAY_NAMES.indexOf(n));
    if (a === undefined || a < 0 || (b !== undefined && b < 0)) bad(`unknown day in "${piece}" (days: ${DAY_NAMES.join(', ')})`);
    for (let i = a; ; i = (i + 1) % 7) {
      days.add(i);
      if (i === (b ?? a)) break;
    }
  }
  // Every day is the same as no days named.
  return days.size === 7 ? [] : [...days].sort((x, y) => x - y);
}

/** The window as it would be written: "mon-fri 09:00-17:00 Europe/Berlin". */
export function describeWindow(w: AccessWindow): string {
  const parts: string[] = [];
  if (w.days.length > 0) parts.push(describeDays(w.days));
  if (w.fromMinute !== null && w.toMinute !== null) parts.push(`${hhmm(w.fromMinute)}-${hhmm(w.toMinute)}`);
  else if (w.days.length === 0) parts.push('00:00-24:00');
  parts.push(w.zone);
  return parts.join(' ');
}

function describeDays(days: number[]): string {
  const runs: number[][] = [];
  for (const d of WEEK_ORDER) {
    if (!days.includes(d)) continue;
    const last = runs[runs.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev !== undefined && WEEK_ORDER.indexOf(prev) === WEEK_ORDER.indexOf(d) - 1) last.push(d);
    else runs.push([d]);
  }
  return runs.map((r) => (r.length === 1 ? DAY_NAMES[r[0]!]! : r.length === 2 ? `${DAY_NAMES[r[0]!]!},${DAY_NAMES[r[1]!]!}` : `${DAY_NAMES[r[0]!]!}-${DAY_NAMES[r[r.length - 1]!]!}`)).join(',');
}

const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

interface Period { start: number; end: number }

/** The window's period that starts on local day `day`, if it opens that day (empty periods: none). */
function periodOn(w: AccessWindow, day: number): Period | null {
  if (w.days.length > 0 && !w.days.includes(weekdayOf(day))) return null;
  const from = w.fromMinute ?? 0;
  const to = w.toMinute ?? 24 * 60;
  const start = firstInstantAt(w.zone, day, from);
  const end = from < to ? firstInstantAt(w.zone, day, to) : firstInstantAt(w.zone, day + 1, to);
  return end > start ? { start, end } : null;
}

function containing(w: AccessWindow, at: number): { period: Period; day: number } | null {
  const today = localDay(w.zone, at).day;
  for (let day = today - 1; day <= today + 1; day++) {
    const p = periodOn(w, day);
    if (p && p.start <= at && at < p.end) return { period: p, day };
  }
  return null;
}

export function inWindow(w: AccessWindow, at: number): boolean {
  return containing(w, at) !== null;
}

/**
 * When the open period containing `at` ends (periods that touch, like "mon-fri" days or
 * "00:00-24:00", are one period); null when it never closes. `at` itself when the window is shut.
 */
export function closesAt(w: AccessWindow, at: number): number | null {
  const c = containing(w, at);
  if (!c) return at;
  let end = c.period.end;
  for (let day = c.day + 1; day <= c.day + CHAIN_DAYS; day++) {
    const next = periodOn(w, day);
    if (!next || next.start > end) return end;
    end = Math.max(end, next.end);
  }
  return null;
}

/** The next moment at or after `at` the window is open (`at` when open now); null if it never opens. */
export function opensAt(w: AccessWindow, at: number): number | null {
  if (inWindow(w, at)) return at;
  const today = localDay(w.zone, at).day;
  for (let day = today - 1; day <= today + CHAIN_DAYS; day++) {
    const p = periodOn(w, day);
    if (p && p.start > at) return p.start;
  }
  return null;
}

/** "Mon 09:00 CET (in 14h 12m)": when the window opens next, on its own clock, for refusals. */
export function describeOpening(w: AccessWindow, at: number): string {
  const next = opensAt(w, at);
  if (next === null) return 'it never opens';
  const wall = wallClock(w.zone, next);
  const day = DAY_NAMES[new Date(wall).getUTCDay()]!;
  const time = hhmm(Math.floor((wall % DAY_MS) / 60_000));
  return `${day[0]!.toUpperCase()}${day.slice(1)} ${time} ${zoneAbbreviation(w.zone, next)} (in ${waitText(next - at)})`;
}

function waitText(ms: number): string {
  const mins = Math.max(1, Math.ceil(ms / 60_000));
  const d = Math.floor(mins / 1440);
  const h = Math.floor((mins % 1440) / 60);
  const m = mins % 60;
  return [d > 0 ? `${d}d` : '', h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : ''].filter(Boolean).join(' ');
}

/**
 * A policy's auto-approval window: the zoned one when written with the new syntax, else the stored
 * days and whole UTC hours of policies made before it; null: no time condition.
 */
export function autoApproveWindow(a: AutoApprove): AccessWindow | null {
  if (a.window) return a.window;
  const hours = a.fromHour !== null && a.toHour !== null;
  if (!hours && a.days.length === 0) return null;
  return { days: a.days, fromMinute: hours ? a.fromHour! * 60 : null, toMinute: hours ? a.toHour! * 60 : null, zone: 'UTC' };
}
