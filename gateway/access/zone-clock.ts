// Wall-clock arithmetic in an IANA time zone with nothing but Intl.DateTimeFormat (Node ships full
// ICU): what an instant reads on a zone's clock, and the first instant a zone's clock shows a given
// local time or later. No tz library: the two functions below are all windows need, and Intl's
// zone data is the one the rest of the process already uses.
// Does not parse or describe windows (windows.ts).

const DAY_MS = 86_400_000;
const MIN_MS = 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    // Bounded: zones are validated names and there are a few hundred of them.
    if (formatters.size < 1000) formatters.set(zone, f);
  }
  return f;
}

/** The zone's canonical name ("europe/berlin" → "Europe/Berlin"), or null when Intl does not know it. */
export function canonicalZone(name: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(name)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** What the zone's clock reads at `at`, as if that reading were UTC (ms); seconds kept. */
export function wallClock(zone: string, at: number): number {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(at))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute, p.second);
  // formatToParts drops milliseconds; they are the same on every clock.
  return wall + (((at % 1000) + 1000) % 1000);
}

/** The local day number (days since 1970-01-01 on the zone's calendar) and minute of that day at `at`. */
export function localDay(zone: string, at: number): { day: number; minute: number; weekday: number } {
  const wall = wallClock(zone, at);
  const day = Math.floor(wall / DAY_MS);
  return { day, minute: Math.floor((wall - day * DAY_MS) / MIN_MS), weekday: weekdayOf(day) };
}

/** 0 (Sunday) to 6 for a day number. */
export function weekdayOf(day: number): number {
  return new Date(day * DAY_MS).getUTCDay();
}

/**
 * The first instant on local day `day` whose clock reads `minute` (0..1440; 1440 is the next day's
 * midnight) or later. A time that does not exist (the hour skipped in spring) resolves to the
 * moment the clock jumps past it; a time that happens twice (the hour repeated in autumn) to its
 * first occurrence.
 */
export function firstInstantAt(zone: string, day: number, minute: number): number {
  const want = day * DAY_MS + minute * MIN_MS;
  // Offsets in force around that time (transitions are months apart, so three looks find both).
  const offsets = new Set<number>();
  for (const probe of [want - DAY_MS, want, want + DAY_MS]) offsets.add(wallClock(zone, probe) - probe);
  const exact: number[] = [];
  const after: number[] = [];
  for (const o of offsets) {
    const c = want - o;
    const w = wallClock(zone, c);
    if (w === want) exact.push(c);
    else if (w > want) after.push(c);
  }
  if (exact.length > 0) return Math.min(...exact);
  // In a gap: the answer is the transition, shortly before the first candidate past it. Minutes
  // (transitions fall on whole minutes); the search stays within the widest gap there is (a day).
  let hi = after.length > 0 ? Math.min(...after) : want - Math.min(...offsets);
  let lo = hi - DAY_MS;
  while (hi - lo > MIN_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / MIN_MS) * MIN_MS;
    if (wallClock(zone, mid) >= want) hi = mid; else lo = mid;
  }
  return hi;
}

/** "CET", "EST", "UTC": the zone's short name at `at` ("GMT+1" style when none is known). */
export function zoneAbbreviation(zone: string, at: number): string {
  const name = (locale: string): string =>
    new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: 'short' }).formatToParts(new Date(at)).find((p) => p.type === 'timeZoneName')?.value ?? zone;
  const us = name('en-US');
  return /^GMT[+-]/.test(us) ? name('en-GB') : us;
}
