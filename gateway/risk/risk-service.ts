// The risk scorer the session pipeline talks to (session/risk-port.ts): one SessionWatch per
// session, and the session-start detectors run right after the session is booked, off the login
// path (the client is already being connected; two store reads and the flags follow).
import type { SessionTaps } from '../../recorder/taps.js';
import { LOG, type Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import type { SessionStart } from '../session/ports.js';
import type { RiskWatch, SessionRisk } from '../session/risk-port.js';
import type { FlagSink } from './flag-sink.js';
import { autoApproveWindowOf, type PolicyWindowOf } from './policy-window.js';
import type { RiskSettings } from './risk-settings.js';
import { SessionWatch } from './session-watch.js';
import { hasHistory, readHistory, startFlags, type StartFacts } from './start-detectors.js';

export interface RiskServiceDeps {
  store: Pick<Store, 'sessions'>;
  sink: FlagSink;
  settings: RiskSettings;
  log: Logger;
  /** Failed logins of this name within the failure window (the login throttle, shared by every node). */
  recentFailures: (user: string) => number;
  failureWindowMs: number;
  policyWindow?: PolicyWindowOf;
}

export class RiskService implements SessionRisk {
  constructor(private readonly d: RiskServiceDeps) {}

  watch(start: SessionStart, taps: SessionTaps): { taps: SessionTaps; watch: RiskWatch } {
    const w = new SessionWatch(start, taps, this.d.sink, this.d.settings);
    void this.atStart(start, w);
    return { taps: w.taps, watch: w };
  }

  /** Never throws: a failed read means fewer flags, logged. */
  async atStart(start: SessionStart, w: SessionWatch): Promise<void> {
    const { d } = this;
    try {
      const facts: StartFacts = {
        sessionId: start.id, auth: start.auth, clientAddr: start.clientAddr, startedAt: start.startedAt,
        policyWindow: (d.policyWindow ?? autoApproveWindowOf)(start.auth),
        recentFailures: start.auth.link ? 0 : d.recentFailures(start.auth.user.name), failureWindowMs: d.failureWindowMs,
      };
      const history = hasHistory(start.auth) ? await readHistory(d.store, facts, d.settings) : null;
      for (const f of startFlags(facts, history, d.settings)) w.raise(f);
    } catch (err) {
      d.log.error({ session: start.id, err: err instanceof Error ? err.message : String(err) }, LOG.riskFailed);
    }
  }
}
