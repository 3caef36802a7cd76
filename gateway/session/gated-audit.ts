// How many gate verdicts of one session reach the audit chain. Every verdict is recorded (the
// recording's event stream keeps each one), but an audit entry is a serialized, cluster-wide store
// write: a user looping a denied statement must not flood the chain nor slow everyone's audit.
// The first PER_RULE verdicts of each (verdict, rule) are audited one by one; the rest are counted
// and audited as one summary entry per (verdict, rule) when the session ends.

/** Enough to show what was tried and how; the count says how often. */
export const GATED_AUDITED_PER_RULE = 20;

export interface GatedSummary {
  verdict: 'deny' | 'flag';
  rule: string;
  /** Verdicts after the first GATED_AUDITED_PER_RULE, not audited one by one. */
  more: number;
}

export class GatedAudit {
  private readonly seen = new Map<string, GatedSummary & { count: number }>();

  /** Counts one verdict; true when it gets its own audit entry. */
  admit(verdict: 'deny' | 'flag', rule: string): boolean {
    const key = `${verdict}\u0000${rule}`;
    let s = this.seen.get(key);
    if (!s) {
      s = { verdict, rule, more: 0, count: 0 };
      this.seen.set(key, s);
    }
    s.count++;
    if (s.count <= GATED_AUDITED_PER_RULE) return true;
    s.more++;
    return false;
  }

  /** The (verdict, rule) pairs that went over the cap, for the end-of-session entries. */
  summaries(): GatedSummary[] {
    return [...this.seen.values()].filter((s) => s.more > 0).map(({ verdict, rule, more }) => ({ verdict, rule, more }));
  }
}
