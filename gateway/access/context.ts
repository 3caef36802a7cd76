// What every access service needs, wired once by the composition root.
import type { AuditLog } from '../audit/audit-log.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { EventBus } from '../util/event-bus.js';
import type { AccessEvents } from './events.js';

export interface AccessSettings {
  /** How long a request may stay pending before it expires. */
  pendingTtlMs: number;
  /** Longest break-glass grant, whatever is asked for. */
  breakglassMaxMs: number;
  /** How long before expiry the "grant expiring" notice goes out. */
  warnBeforeMs: number;
}

export const DEFAULT_ACCESS_SETTINGS: AccessSettings = {
  pendingTtlMs: 24 * 3_600_000,
  breakglassMaxMs: 3_600_000,
  warnBeforeMs: 60_000,
};

export interface AccessContext {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  events: EventBus<AccessEvents>;
  settings: AccessSettings;
}
