// Risk flags (gateway/risk/): every detector with an injected clock and a real SQLite store, the
// per-session watch (one flag per rule, mass export as soon as crossed, markers), the flag sink's
// books, and the attacker's inputs (control characters, long details, a flood of rule hits).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Authorization } from '../../gateway/access/decider.js';
import { FailureBudget } from '../../gateway/access/failure-budget.js';
import { LoginThrottle } from '../../gateway/access/throttle.js';
import { defaultConfig } from '../../gateway/config/config.js';
import { createLogger } from '../../gateway/log/logger.js';
import { flagDetail } from '../../gateway/risk/flag-detail.js';
import { type FlagDraft, FlagSink } from '../../gateway/risk/flag-sink.js';
import { inWindow, parseOptionalWindow as parseHourWindow } from '../../gateway/access/windows.js';
import { RiskService } from '../../gateway/risk/risk-service.js';
import { type RiskSettings, riskSettings } from '../../gateway/risk/risk-settings.js';
import { SessionWatch } from '../../gateway/risk/session-watch.js';
import { type History, readHistory, startFlags, type StartFacts } from '../../gateway/risk/start-detectors.js';
import { usualHours } from '../../gateway/risk/usual-hours.js';
import type { SessionStart } from '../../gateway/session/ports.js';
import { NO_TAPS } from '../../gateway/session/pipeline-deps.js';
import type { SessionRecord } from '../../gateway/store/records.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import type { Store } from '../../gateway/store/store.js';
import { aGrant, aPolicy, aSession, aTarget, aUser } from '../contract/store-fixtures.js';
import { FakeClock } from '../support/fake-clock.js';

const H = 3_600_000;
// Wednesday 2026-11-25 03:00 UTC: outside any sensible business day.
const NIGHT = Date.UTC(2026, 10, 25, 3, 0, 0);
const NOON = Date.UTC(2026, 10, 25, 12, 0, 0);

const settings = (over: Partial<RiskSettings> = {}): RiskSettings => ({ ...riskSettings(defaultConfig('/tmp')), ...over });

function auth(over: Partial<Authorization> = {}): Authorization {
  const user = aUser({ name: 'alice' });
  const target = aTarget({ name: 'db1' });
  return { user, target, grant: aGrant(user.id, target.id), policy: null, ...over };
}

function facts(a: Authorization, over: Partial<StartFacts> = {}): StartFacts {
  return { sessionId: 'ses_now', auth: a, clientAddr: '10.0.0.5', startedAt: NOON, policyWindow: null, recentFailures: 0, failureWindowMs: 10 * 60_000, ...over };
}

const past = (n: number, at: (i: number) => number, addr = '10.0.0.5'): SessionRecord[] =>
  Array.from({ length: n }, (_, i) => aSession('tgt', { startedAt: at(i), clientAddr: addr }));

const hasControl = (t: string): boolean => [...t].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127);
const kinds = (fs: FlagDraft[]): string[] => fs.map((f) => f.kind).sort();

describe('session-start detectors', () => {
  it('say nothing for an ordinary session by default (a fresh install does not flag everything)', () => {
    const h: History = { previous: past(20, (i) => NOON - (i + 1) * 24 * H), usedTargetBefore: true };
    expect(startFlags(facts(auth()), h, settings())).toEqual([]);
  });

  it('off-hours: outside risk.businessHours, outside the policy window, outside the user\'s usual hours', () => {
    const h: History = { previous: past(20, (i) => NOON - (i + 1) * 24 * H), usedTargetBefore: true };
    const bh = settings({ businessHours: parseHourWindow('mon-fri 08-19', 'x') });
    expect(kinds(startFlags(facts(auth(), { startedAt: NOON }), h, bh))).toEqual([]);
    const night = startFlags(facts(auth(), { startedAt: NIGHT }), h, bh);
    expect(kinds(night)).toEqual(['off-hours']);
    expect(night[0]!.detail).toContain('outside business hours (mon-fri 08:00-19:00 UTC)');
    expect(night[0]!.detail).toContain("outside the user's usual hours");
    const policy = startFlags(facts(auth(), { startedAt: NOON, policyWindow: parseHourWindow('mon-fri 13-17', 'x') }), h, settings());
    expect(policy[0]?.detail).toContain("outside its policy's window");
  });

  it('usual hours need a minimum history, count the neighbouring hours, and tell weekends apart', () => {
    const days = (n: number, hour: number): number[] => Array.from({ length: n }, (_, i) => Date.UTC(2026, 10, 2 + i, hour));
    expect(usualHours(NIGHT, days(9, 12), 10)).toBeNull();
    expect(usualHours(NIGHT, days(10, 12), 10)?.unusual).toBe(true);
    expect(usualHours(Date.UTC(2026, 10, 25, 13, 0), days(10, 12), 10)?.unusual).toBe(false);
    // Weekdays only (Nov 2-6 and 9-13 2026), then a Saturday at noon.
    const weekdays = [...Array.from({ length: 5 }, (_, i) => Date.UTC(2026, 10, 2 + i, 12)), ...Array.from({ length: 5 }, (_, i) => Date.UTC(2026, 10, 9 + i, 12))];
    const sat = usualHours(Date.UTC(2026, 10, 28, 12), weekdays, 10);
    expect(sat?.unusual).toBe(true);
    expect(sat?.why).toContain('weekend');
  });

  it('first-use, new-address (IPv6 by its /64; not for a first session ever), break-glass, vendor link, failed logins', () => {
    const a = auth();
    expect(kinds(startFlags(facts(a), { previous: [], usedTargetBefore: false }, settings()))).toEqual(['first-use']);
    const seen: History = { previous: past(3, (i) => NOON - (i + 1) * H, '2001:db8:1:2::10'), usedTargetBefore: true };
    expect(kinds(startFlags(facts(a, { clientAddr: '2001:db8:1:2::99' }), seen, settings()))).toEqual([]);
    expect(kinds(startFlags(facts(a, { clientAddr: '2001:db8:9::1' }), seen, settings()))).toEqual(['new-address']);
    const bg = auth();
    bg.grant = { ...bg.grant, source: 'breakglass', reason: 'prod down' };
    const glass = startFlags(facts(bg), null, settings())[0];
    expect(glass?.kind).toBe('break-glass');
    expect(glass?.detail).toContain('prod down');
    const link = auth({ link: { id: 'lnk_1', label: 'vendor x', issuer: 'bob' } });
    expect(kinds(startFlags(facts(link), null, settings()))).toEqual(['vendor-link']);
    expect(kinds(startFlags(facts(a, { recentFailures: 2 }), null, settings()))).toEqual([]);
    expect(startFlags(facts(a, { recentFailures: 3 }), null, settings())[0]).toMatchObject({ kind: 'failed-logins', detail: '3 failed logins as alice in the 10 min before this session' });
  });

  it('a client address with control characters reaches the detail cleaned', () => {
    const seen: History = { previous: past(1, () => NOON - H), usedTargetBefore: true };
    const f = startFlags(facts(auth(), { clientAddr: '1.2.3.4\u001b[31m\r\nevil' }), seen, settings());
    expect(hasControl(f[0]!.detail)).toBe(false);
  });
});

describe('history from the store', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'risk-')); store = openSqliteStore(join(dir, 'state.db')); });
  afterEach(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  it('reads the user\'s other sessions of the last days and whether the target was used before', async () => {
    const a = auth();
    await store.users.insert(a.user);
    await store.targets.insert(a.target);
    const other = aTarget({ name: 'db2' });
    await store.targets.insert(other);
    const now = aSession(a.target.id, { userId: a.user.id, startedAt: NOON });
    await store.sessions.insert(now);
    await store.sessions.insert(aSession(other.id, { userId: a.user.id, startedAt: NOON - 24 * H, clientAddr: '10.9.9.9' }));
    await store.sessions.insert(aSession(other.id, { userId: a.user.id, startedAt: NOON - 60 * 24 * H }));
    const h = await readHistory(store, facts(a, { sessionId: now.id }), settings());
    expect(h.previous.map((s) => s.clientAddr)).toEqual(['10.9.9.9']);
    expect(h.usedTargetBefore).toBe(false);
    await store.sessions.insert(aSession(a.target.id, { userId: a.user.id, startedAt: NOON - 2 * H }));
    expect((await readHistory(store, facts(a, { sessionId: now.id }), settings())).usedTargetBefore).toBe(true);
  });
});

describe('the session watch and the flag sink', () => {
  let dir: string;
  let store: Store;
  let clock: FakeClock;
  let audits: Array<{ code: string; data: Record<string, unknown> }>;
  let events: Array<Record<string, unknown>>;
  let sink: FlagSink;
  let start: SessionStart;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'risk-'));
    store = openSqliteStore(join(dir, 'state.db'));
    clock = new FakeClock(NIGHT);
    audits = [];
    events = [];
    sink = new FlagSink({
      store, clock, log: createLogger('silent'),
      audit: { append: (code: string, _actor: string, data: Record<string, unknown>) => { audits.push({ code, data }); return Promise.resolve(undefined as never); } } as never,
      events: { emit: (_e: string, p: Record<string, unknown>) => { events.push(p); } } as never,
    });
    const a = auth();
    await store.sessions.insert(aSession(a.target.id, { id: 'ses_w', userId: a.user.id, startedAt: NIGHT }));
    start = { id: 'ses_w', protocol: 'postgres', auth: a, clientAddr: '10.0.0.5', startedAt: NIGHT, recordingDir: '/nonexistent' };
  });
  afterEach(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
  const markers: string[] = [];
  const taps = { ...NO_TAPS, marker: (l: string) => { markers.push(l); }, terminal: () => ({ ...NO_TAPS.terminal({ width: 80, height: 24 }), marker: (l: string) => { markers.push(`term:${l}`); } }) };

  it('a flood of hits of one rule is one flag, one audit entry, one webhook event; the score adds up once per rule', async () => {
    const w = new SessionWatch(start, taps, sink, settings());
    for (let i = 0; i < 1000; i++) w.gated('deny', 'no-drop', `simple: DROP TABLE t${i}`);
    w.gated('flag', 'watch-copy', 'simple: COPY t TO STDOUT');
    await settle();
    const flags = (await store.sessions.flags('ses_w')).sort((a, b) => a.key.localeCompare(b.key));
    expect(flags.map((f) => [f.kind, f.key, f.weight])).toEqual([['rule', 'no-drop', 30], ['rule', 'watch-copy', 30]]);
    expect(flags[0]!.detail).toBe('deny by no-drop: simple: DROP TABLE t0');
    expect((await store.sessions.byId('ses_w'))?.riskScore).toBe(60);
    expect(audits.filter((x) => x.code === 'session.flagged')).toHaveLength(2);
    expect(audits.map((x) => x.data.score).sort()).toEqual([30, 60]);
    expect(audits[0]!.data).toMatchObject({ session: 'ses_w', flag: 'rule', weight: 30 });
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ session: 'ses_w', user: 'alice', target: 'db1', flag: 'rule', weight: 30 });
  });

  it('mass export is flagged as soon as rows or bytes cross the threshold, once', async () => {
    const w = new SessionWatch(start, taps, sink, settings({ exportRows: 100, exportBytes: 1000 }));
    w.taps.statement({ rows_returned: 60 });
    await settle();
    expect(await store.sessions.flags('ses_w')).toEqual([]);
    w.taps.statement({ rows_returned: 40 });
    w.sent(5000);
    await settle();
    const flags = await store.sessions.flags('ses_w');
    expect(flags.map((f) => [f.kind, f.detail])).toEqual([['mass-export', '100 rows returned (threshold 100)']]);
    const bytes = new SessionWatch({ ...start }, taps, sink, settings({ exportRows: 0, exportBytes: 1000 }));
    for (let i = 0; i < 9; i++) bytes.sent(100);
    expect(markers.some((m) => m.includes('bytes sent'))).toBe(false);
    bytes.sent(100);
    expect(markers.some((m) => m.includes('1000 bytes sent to the client'))).toBe(true);
  });

  it('a weight of 0 turns a kind off; flags raised before a terminal opened are replayed into it', async () => {
    markers.length = 0;
    const w = new SessionWatch(start, taps, sink, settings({ weights: { ...settings().weights, 'first-use': 0 } }));
    w.raise({ kind: 'first-use', key: 'first-use', detail: 'x' });
    w.raise({ kind: 'off-hours', key: 'off-hours', detail: 'night' });
    w.taps.terminal({ width: 80, height: 24 });
    await settle();
    expect(markers).toEqual(['flagged off-hours: night', 'term:flagged off-hours: night']);
    expect((await store.sessions.flags('ses_w')).map((f) => f.kind)).toEqual(['off-hours']);
  });

  it('the service runs the start detectors after booking: first use at night with business hours set', async () => {
    // Someone else's session on the target (beforeEach's) is not this user's history.
    const me = aUser({ name: 'carol' });
    await store.users.insert(me);
    await store.targets.insert(start.auth.target);
    await store.sessions.insert(aSession(start.auth.target.id, { id: 'ses_s', userId: me.id, startedAt: NIGHT }));
    const svc = new RiskService({
      store, sink, settings: settings({ businessHours: parseHourWindow('mon-fri 08-19', 'x') }), log: createLogger('silent'),
      recentFailures: () => 0, failureWindowMs: 600_000,
    });
    svc.watch({ ...start, id: 'ses_s', auth: { ...start.auth, user: me } }, taps);
    await settle();
    expect((await store.sessions.flags('ses_s')).map((f) => f.kind).sort()).toEqual(['first-use', 'off-hours']);
    expect((await store.sessions.byId('ses_s'))?.riskScore).toBe(15);
  });

  it('details leave out passwords in statements and command lines (they travel to chat webhooks)', () => {
    expect(flagDetail("deny by no-grant: simple: ALTER ROLE bob PASSWORD 'hunter2' VALID UNTIL 'x'")).toBe("deny by no-grant: simple: ALTER ROLE bob PASSWORD '…' VALID UNTIL 'x'");
    expect(flagDetail("CREATE USER 'u'@'%' IDENTIFIED BY 's3cret'")).toBe("CREATE USER 'u'@'%' IDENTIFIED BY '…'");
    expect(flagDetail('mysql -uroot -pS3cret -e "drop database x"')).toBe('mysql -uroot -p… -e "drop database x"');
    expect(flagDetail('psql --password=abc')).toBe('psql --password=…');
    expect(flagDetail('select * from users where password_hash is null')).toBe('select * from users where password_hash is null');
  });

  it('details are bounded and lose control characters (a terminal escape in a command)', () => {
    const d = flagDetail(`rm -rf /\u001b]0;pwned\u0007${'x'.repeat(5000)}`);
    expect(d.length).toBeLessThanOrEqual(200);
    expect(hasControl(d)).toBe(false);
  });
});

describe('settings, windows and failed logins', () => {
  it('refuses an unknown flag kind, a bad weight and a malformed window at load', () => {
    const c = defaultConfig('/tmp');
    expect(() => riskSettings({ risk: { ...c.risk, weights: { 'typo-kind': 5 } } })).toThrow(/unknown flag kind "typo-kind"/);
    expect(() => riskSettings({ risk: { ...c.risk, weights: { rule: -1 } } })).toThrow(/weights.rule/);
    expect(() => riskSettings({ risk: { ...c.risk, businessHours: 'weekdays 9 to 5' } })).toThrow(/risk\.businessHours: unknown time zone or word "weekdays"/);
    // The same parser as policies' windows: a zone is allowed.
    expect(riskSettings({ risk: { ...c.risk, businessHours: 'mon-fri 08:00-19:00 America/New_York' } }).businessHours).toMatchObject({ zone: 'America/New_York', fromMinute: 480 });
    expect(riskSettings({ risk: { ...c.risk, weights: { rule: 50 } } }).weights).toMatchObject({ rule: 50, 'mass-export': 40 });
  });

  it('windows wrap past midnight and name days', () => {
    const w = parseHourWindow('22-06', 'x')!;
    expect(inWindow(w, NIGHT)).toBe(true);
    expect(inWindow(w, NOON)).toBe(false);
    expect(inWindow(parseHourWindow('sat,sun', 'x')!, NOON)).toBe(false);
    expect(parseHourWindow('off', 'x')).toBeNull();
  });

  it('the throttle counts a name\'s recent failures from any address, without touching its budget', () => {
    const clock = new FakeClock(NOON);
    const t = new LoginThrottle(clock, { windowMs: 10 * 60_000 });
    t.fail('alice', '10.0.0.1');
    t.fail('Alice', '10.0.0.2');
    t.failElsewhere('alice', '10.0.0.3');
    expect(t.recentFailures('alice')).toBe(3);
    t.succeed('alice', '10.0.0.1');
    expect(t.recentFailures('alice')).toBe(3);
    clock.advance(25 * 60_000);
    expect(t.recentFailures('alice')).toBe(0);
    const b = new FailureBudget(clock, { failures: 2, windowMs: 1000, lockMs: 5000, maxKeys: 10 });
    b.fail('k');
    b.fail('k');
    expect(b.recent('k')).toBe(2);
  });
});

void aPolicy;
