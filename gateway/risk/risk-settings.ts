// The `risk:` configuration read into what the detectors use: weights per flag kind (defaults
// below, 0 turns a kind off), the business-hours window (access/windows.ts syntax, a zone allowed), the history the usual-hours detector
// learns from, and the mass-export and failed-login thresholds. Checked when the config loads.
import type { SessionFlagKind } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { parseSize } from '../util/size.js';
import { type AccessWindow, parseOptionalWindow } from '../access/windows.js';

/**
 * Why these weights: what an investigator should look at first. A deny rule, a mass export and
 * break-glass are each worth a look on their own; the time of day, a new address or target alone
 * are common and only add up.
 */
export const DEFAULT_WEIGHTS: Readonly<Record<SessionFlagKind, number>> = {
  'rule': 30, 'mass-export': 40, 'break-glass': 30, 'failed-logins': 20, 'vendor-link': 10, 'off-hours': 10, 'new-address': 10, 'first-use': 5,
};

export const FLAG_KINDS = Object.keys(DEFAULT_WEIGHTS) as SessionFlagKind[];

export interface RiskSettings {
  weights: Readonly<Record<SessionFlagKind, number>>;
  businessHours: AccessWindow | null;
  historyDays: number;
  historyMinSessions: number;
  exportRows: number;
  exportBytes: number;
  failedLogins: number;
}

/** The `risk:` section as written in the config (config.ts Config['risk']). */
export interface RiskConfig {
  weights: Record<string, number>;
  businessHours: string;
  historyDays: number;
  historyMinSessions: number;
  exportRows: number;
  exportBytes: string | number;
  failedLogins: number;
}

export function riskSettings(c: { risk: RiskConfig }): RiskSettings {
  const r = c.risk;
  const bad = (msg: string): never => { throw new PortcullisError('bad-request', `risk.${msg}`); };
  const weights: Record<SessionFlagKind, number> = { ...DEFAULT_WEIGHTS };
  if (r.weights === null || typeof r.weights !== 'object' || Array.isArray(r.weights)) bad('weights must map flag kinds to numbers');
  for (const [k, v] of Object.entries(r.weights)) {
    if (!(FLAG_KINDS as string[]).includes(k)) bad(`weights: unknown flag kind "${k}" (kinds: ${FLAG_KINDS.join(', ')})`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1000) bad(`weights.${k} must be a whole number from 0 to 1000`);
    weights[k as SessionFlagKind] = v;
  }
  const whole = (k: 'historyDays' | 'historyMinSessions' | 'exportRows' | 'failedLogins', min: number, max: number): number => {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${k} must be a whole number from ${min} to ${max}`);
    return v;
  };
  return {
    weights,
    businessHours: parseOptionalWindow(String(r.businessHours), 'risk.businessHours'),
    historyDays: whole('historyDays', 1, 365),
    historyMinSessions: whole('historyMinSessions', 1, 1000),
    exportRows: whole('exportRows', 0, Number.MAX_SAFE_INTEGER),
    exportBytes: parseSize(r.exportBytes, 'risk.exportBytes'),
    failedLogins: whole('failedLogins', 1, 100_000),
  };
}
