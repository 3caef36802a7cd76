// The rules every node checks against: the store's rules, held in memory and replaced whole when
// they change (`reload`, called after a local change, on a cluster message from another node, and
// periodically as the safety net for a missed message). Sessions read `current` on every check, so
// a rule added or removed reaches running sessions at once (see RuleGate for the one exception).
import type { RuleRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

export interface RuleSnapshot {
  /** Increases with every reload that changed something; matchers built for an older one are rebuilt. */
  readonly version: number;
  readonly rules: readonly RuleRecord[];
}

export class RuleBook {
  private snapshot: RuleSnapshot = { version: 0, rules: [] };
  private loading: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly store: Pick<Store, 'rules'>) {}

  get current(): RuleSnapshot {
    return this.snapshot;
  }

  /**
   * Reads the rules again; resolves once a read that started after this call has been applied
   * (a read already under way may predate the change the caller just committed, so the caller
   * then waits for the one after it; every caller in the meantime shares that one). Throws when
   * the store cannot be read (the old rules stay).
   */
  reload(): Promise<void> {
    if (this.loading === null) {
      this.loading = this.read().finally(() => { this.loading = null; });
      return this.loading;
    }
    this.next ??= this.loading.catch(() => undefined).then(() => {
      this.next = null;
      return this.reload();
    });
    return this.next;
  }

  private async read(): Promise<void> {
    const rules = await this.store.rules.list();
    if (!sameRules(rules, this.snapshot.rules)) this.snapshot = { version: this.snapshot.version + 1, rules };
  }
}

function sameRules(a: readonly RuleRecord[], b: readonly RuleRecord[]): boolean {
  return a.length === b.length && a.every((r, i) => JSON.stringify(r) === JSON.stringify(b[i]));
}
