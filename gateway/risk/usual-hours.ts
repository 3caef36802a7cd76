// Whether a session starts outside the user's usual hours, learnt from the start times of their
// previous sessions: the hour of day (UTC), with the hours either side counting as usual, and
// weekends apart (someone who never works weekends is unusual on a Saturday at 10:00). Says
// nothing until there are `minSessions` previous sessions: a new user has no usual hours.
// Pure: the caller reads the history.

export interface UsualHoursVerdict {
  unusual: boolean;
  /** For the flag's detail. */
  why: string;
}

export function usualHours(startedAt: number, previous: readonly number[], minSessions: number): UsualHoursVerdict | null {
  if (previous.length < minSessions) return null;
  const byHour = new Array<number>(24).fill(0);
  let weekend = 0;
  for (const t of previous) {
    const d = new Date(t);
    byHour[d.getUTCHours()]!++;
    if (isWeekend(d)) weekend++;
  }
  const now = new Date(startedAt);
  const h = now.getUTCHours();
  const near = byHour[h]! + byHour[(h + 23) % 24]! + byHour[(h + 1) % 24]!;
  if (near === 0) {
    const from = String((h + 23) % 24).padStart(2, '0');
    const to = String((h + 1) % 24).padStart(2, '0');
    return { unusual: true, why: `none of ${previous.length} previous sessions started between ${from}:00 and ${to}:59 UTC` };
  }
  if (isWeekend(now) && weekend === 0) return { unusual: true, why: `none of ${previous.length} previous sessions was on a weekend` };
  return { unusual: false, why: '' };
}

function isWeekend(d: Date): boolean {
  const day = d.getUTCDay();
  return day === 0 || day === 6;
}

