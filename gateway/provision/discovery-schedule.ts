// Scheduled discovery: every `discovery.interval`, every target whose kind has a provisioner login
// is discovered, one at a time (a pass never loads several targets, or the gateway, at once). New
// unmanaged accounts are audited and alerted by DiscoveryService itself. A target whose discovery
// fails is audited each time (discovery.failed) and logged, but alerted only on the first failure
// of a streak: an unreachable target does not page someone every hour. Nothing escapes the timer.
import type { AccessEvents } from '../access/events.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { EventBus } from '../util/event-bus.js';
import type { DiscoveryService } from './discovery.js';

const TIMER_KEY = 'discovery:schedule';

export interface DiscoveryScheduleDeps {
  discovery: DiscoveryService;
  store: Store;
  clock: Clock;
  scheduler: DeadlineScheduler;
  events: EventBus<AccessEvents>;
  /** 0: off. */
  intervalMs: number;
  /** A target's run failed (logged by the caller; the alert is decided here). */
  onFailure: (target: string, err: unknown) => void;
  /**
   * True for exactly one node per key (store.claims); default: always (one node). With several
   * nodes one pass runs per interval (the first node whose timer fires claims the interval).
   */
  claim?: (key: string) => Promise<boolean>;
}

export interface PassResult {
  discovered: string[];
  failed: string[];
}

export class DiscoverySchedule {
  /** Targets (by id) whose last scheduled run failed: their streak has been alerted already. */
  private readonly failing = new Set<string>();
  private stopped = true;
  /** Set by stop(): a pass under way ends after the target it is on (the store closes next). */
  private halted = false;
  private pass: Promise<PassResult> | null = null;

  constructor(private readonly d: DiscoveryScheduleDeps) {}

  start(): void {
    if (this.d.intervalMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.halted = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.halted = true;
    this.d.scheduler.delete(TIMER_KEY);
  }

  /** One pass over every target now (the timer's work; tests call it). A pass already running is joined, not doubled. */
  runPass(): Promise<PassResult> {
    this.pass ??= this.passNow().finally(() => { this.pass = null; });
    return this.pass;
  }

  private arm(): void {
    if (this.stopped) return;
    this.d.scheduler.set(TIMER_KEY, this.d.clock.now() + this.d.intervalMs, async () => {
      try {
        const period = Math.floor(this.d.clock.now() / this.d.intervalMs);
        if (this.d.claim && !(await this.d.claim(`discovery-pass:${period}`))) return;
        await this.runPass();
      } finally {
        this.arm();
      }
    });
  }

  private async passNow(): Promise<PassResult> {
    const result: PassResult = { discovered: [], failed: [] };
    let targets;
    try {
      targets = await this.d.store.targets.list();
    } catch (err) {
      this.d.onFailure('*', err);
      return result;
    }
    const live = new Set(targets.map((t) => t.id));
    for (const id of this.failing) if (!live.has(id)) this.failing.delete(id);
    for (const t of targets) {
      if (this.halted) break;
      if (!this.d.discovery.supports(t.kind)) continue;
      try {
        await this.d.discovery.run(t, 'portcullis', 'schedule');
        this.failing.delete(t.id);
        result.discovered.push(t.name);
      } catch (err) {
        // Stopped under it (shutdown closes the store next): not the target's failure.
        if (this.halted) break;
        result.failed.push(t.name);
        this.d.onFailure(t.name, err);
        if (!this.failing.has(t.id)) {
          this.failing.add(t.id);
          this.d.events.emit('discovery.failed', {
            target: t.name, error: err instanceof Error ? err.message : String(err), at: new Date(this.d.clock.now()).toISOString(),
          });
        }
      }
    }
    return result;
  }
}
