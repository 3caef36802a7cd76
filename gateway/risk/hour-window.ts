// A weekly window of days and whole hours ("mon-fri 08-19"), and whether an instant falls in it.
// The same words as a policy's auto-approval window (access/policies.ts parseWindow), read here
// without the access layer so the config can check `risk.businessHours` at load.
// Hours are UTC today. Issue 18 brings access windows in local time: `inWindow` takes the time
// zone's offset from a function so a zone can be plugged in without changing the detectors.
import { PortcullisError } from '../util/errors.js';

export interface HourWindow {
  /** Weekdays 0 (Sunday) to 6; empty: every day. */
  days: number[];
  /** [fromHour, toHour); from > to wraps past midnight; null: any hour. */
  fromHour: number | null;
  toHour: number | null;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Parses "mon-fri 08-19", "sat,sun" or "22-06"; "off" or "" is null (no window). */
export function parseHourWindow(text: string, what: string): HourWindow | null {
  const t = String(text).trim().toLowerCase();
  if (t === 'off' || t === '') return null;
  const bad = (): never => { throw new PortcullisError('bad-request', `${what}: malformed window "${text}"; write e.g. "mon-fri 08-19" (UTC hours) or off`); };
  const days = new Set<number>();
  let fromHour: number | null = null;
  let toHour: number | null = null;
  for (const part of t.split(/\s+/)) {
    const hours = /^(\d{1,2})-(\d{1,2})$/.exec(part);
    if (hours) {
      if (fromHour !== null) bad();
      fromHour = Number(hours[1]);
      toHour = Number(hours[2]);
      if (fromHour > 23 || toHour > 24 || fromHour === toHour) bad();
      continue;
    }
    for (const piece of part.split(',')) {
      const range = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(piece) ?? bad();
      const a = DAY_NAMES.indexOf(range[1]!);
      const b = range[2] ? DAY_NAMES.indexOf(range[2]) : a;
      if (a < 0 || b < 0) bad();
      for (let i = a; ; i = (i + 1) % 7) {
        days.add(i);
        if (i === b) break;
      }
    }
  }
  return { days: [...days].sort(), fromHour, toHour };
}

/** Minutes to add to UTC for the window's zone at `at`; UTC until issue 18's access windows. */
export type ZoneOffset = (at: number) => number;
export const UTC: ZoneOffset = () => 0;

export function inWindow(w: HourWindow, at: number, offset: ZoneOffset = UTC): boolean {
  const d = new Date(at + offset(at) * 60_000);
  if (w.days.length > 0 && !w.days.includes(d.getUTCDay())) return false;
  if (w.fromHour === null || w.toHour === null) return true;
  const h = d.getUTCHours();
  return w.fromHour < w.toHour ? h >= w.fromHour && h < w.toHour : h >= w.fromHour || h < w.toHour;
}

/** "mon-fri 08-19 UTC", for flag details. */
export function describeWindow(w: HourWindow): string {
  const days = w.days.length === 0 ? 'every day' : w.days.map((d) => DAY_NAMES[d]).join(',');
  const hours = w.fromHour === null || w.toHour === null ? 'any hour' : `${String(w.fromHour).padStart(2, '0')}-${String(w.toHour).padStart(2, '0')} UTC`;
  return `${days} ${hours}`;
}
