// Access windows enforced (issue 18 item 5), through the real services, store, decider and live
// registry on a fake clock: a grant under a policy with a window is refused outside it (saying
// when it opens, audited access.denied outside-window), and a live session is warned and cut at
// the window's end with 'window-closed' — or at the grant's expiry when that comes first.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewPolicy } from '../../gateway/access/policies.js';
import { parseWindow } from '../../gateway/access/windows.js';
import { decidingAuthorizer } from '../../gateway/session/store-ports.js';
import type { LiveSessionHandle } from '../../gateway/session/live-sessions.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import type { UserRecord } from '../../gateway/store/records.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';

const MIN = 60_000;
const H = 60 * MIN;
// The fake clock starts Monday 2026-11-23 10:00 UTC (11:00 in Berlin, CET).
const policy = (over: Partial<NewPolicy> = {}): NewPolicy => ({
  name: 'vendor-hours', roles: ['vendor'], targets: ['web01'], targetTags: [], maxDurationMs: 24 * H, requireReason: true,
  ticketPattern: null, approvalsRequired: 0, approverRoles: [], autoApprove: null, breakglass: false, recordKeystrokes: true,
  allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [],
  window: parseWindow('mon-fri 09:00-17:00 Europe/Berlin'), ...over,
});

let t: TestApp;
let vendor: UserRecord;

beforeEach(async () => {
  t = await testApp();
  await addSshTarget(t.app, 'web01');
  vendor = await t.user('vendor', ['vendor']);
});
afterEach(() => t.close());

/** Authorizes like a protocol adapter and registers the session as the pipeline does. */
async function connect(): Promise<{ closed: TerminationReason[]; warned: string[] } | string> {
  const d = await t.app.decider.authorize(vendor, 'web01', 'ssh', '127.0.0.1');
  if (!d.ok) return `${d.error.code}: ${d.error.message}`;
  const closed: TerminationReason[] = [];
  const warned: string[] = [];
  const h: LiveSessionHandle = {
    id: `s-${t.clock.now()}`, protocol: 'ssh', user: 'vendor', target: 'web01', grantId: d.auth.grant.id, clientAddr: '127.0.0.1',
    startedAt: t.clock.now(), expiresAt: d.auth.grant.expiresAt, windowEndsAt: d.auth.windowEndsAt ?? null,
    warn: (m) => warned.push(m), close: (r) => closed.push(r),
  };
  t.app.live.register(h);
  return { closed, warned };
}

describe('access windows', () => {
  it('inside the window a session runs, is warned a minute before the window closes and cut then with window-closed; the grant stays', async () => {
    await t.app.policies.add('admin', policy());
    const r = await t.app.requests.create(vendor, { target: 'web01', durationMs: 20 * H, reason: 'maintenance' });
    const s = await connect();
    if (typeof s === 'string') throw new Error(s);
    t.clock.advance(6 * H - 61_000); // 16:58:59 Berlin: a minute and a second before the window closes
    expect(s.warned).toEqual([]);
    t.clock.advance(2_000);
    expect(s.warned).toEqual(['Portcullis: your access to web01 ends in 60 s (its access window closes)']);
    expect(s.closed).toEqual([]);
    t.clock.advance(59_000); // 17:00 Berlin
    expect(s.closed).toEqual(['window-closed']);
    expect((await t.app.store.grants.byId(r.grantId!))!.revokedAt).toBeNull();
  });

  it('outside the window a session is refused saying when it opens, audited as access.denied outside-window; it works again next morning', async () => {
    await t.app.policies.add('admin', policy());
    await t.app.requests.create(vendor, { target: 'web01', durationMs: 24 * H, reason: 'maintenance' });
    t.clock.advance(7 * H); // 17:00 UTC = 18:00 Berlin
    expect(await connect()).toBe('outside-window: web01 is usable mon-fri 09:00-17:00 Europe/Berlin; next from Tue 09:00 CET (in 15h)');
    const denied = (await t.app.audit.page(0, 1000)).filter((e) => e.code === 'access.denied').map((e) => e.data);
    expect(denied).toEqual([expect.objectContaining({ user: 'vendor', target: 'web01', code: 'outside-window' })]);
    t.clock.advance(15 * H);
    expect(typeof (await connect())).toBe('object');
  });

  it('the grant\'s expiry still ends a session first when it comes before the window closes', async () => {
    await t.app.policies.add('admin', policy());
    await t.app.requests.create(vendor, { target: 'web01', durationMs: 30 * MIN, reason: 'quick fix' });
    const s = await connect();
    if (typeof s === 'string') throw new Error(s);
    t.clock.advance(30 * MIN);
    expect(s.closed).toEqual(['grant-expired']);
    expect(s.warned).toEqual(['Portcullis: your access to web01 ends in 60 s']);
  });

  it('an admin grant without a policy, and a grant under a policy without a window, are usable at any hour', async () => {
    await t.app.policies.add('admin', policy());
    t.clock.advance(12 * H); // 23:00 Berlin
    await t.app.grants.adminGrant(t.admin, 'vendor', 'web01', H, 'night work', null);
    const s = await connect();
    expect(typeof s).toBe('object');
  });

  it('a window crossing midnight lets a Friday-night session run into Saturday and cuts it at 06:00 there', async () => {
    await t.app.policies.add('admin', policy({ window: parseWindow('fri 22:00-06:00 Europe/Berlin') }));
    await t.app.grants.adminGrant(t.admin, 'vendor', 'web01', H, 'unrelated', null); // expires long before
    t.clock.set(Date.parse('2026-11-27T22:00:00Z')); // Fri 23:00 Berlin
    await t.app.requests.create(vendor, { target: 'web01', durationMs: 20 * H, reason: 'weekend change' });
    const s = await connect();
    if (typeof s === 'string') throw new Error(s);
    t.clock.set(Date.parse('2026-11-28T04:59:59Z'));
    expect(s.closed).toEqual([]);
    t.clock.set(Date.parse('2026-11-28T05:00:00Z')); // Sat 06:00 Berlin
    expect(s.closed).toEqual(['window-closed']);
    expect(await connect()).toMatch(/^outside-window: web01 is usable fri 22:00-06:00 Europe\/Berlin; next from Fri 22:00 CET \(in 6d 16h\)$/);
  });

  it('extending the grant past the window\'s end keeps the cut at the window', async () => {
    await t.app.policies.add('admin', policy());
    const r = await t.app.requests.create(vendor, { target: 'web01', durationMs: H, reason: 'maintenance' });
    const s = await connect();
    if (typeof s === 'string') throw new Error(s);
    await t.app.grants.extend(t.admin, r.grantId!, 10 * H);
    t.clock.advance(H);
    expect(s.closed).toEqual([]);
    t.clock.advance(5 * H);
    expect(s.closed).toEqual(['window-closed']);
  });
});

describe('an access window changed under running sessions', () => {
  it('a narrowed window moves the cut closer, a widened one later, and a window closed now ends the session (the pipeline\'s recheck)', async () => {
    await t.app.policies.add('admin', policy());
    await t.app.requests.create(vendor, { target: 'web01', durationMs: 20 * H, reason: 'maintenance' });
    const d = await t.app.decider.authorize(vendor, 'web01', 'ssh', '127.0.0.1');
    if (!d.ok) throw new Error(d.error.message);
    const s = await connect();
    if (typeof s === 'string') throw new Error(s);
    const id = t.app.live.list()[0]!.id;
    const authorizer = decidingAuthorizer(t.app.decider, t.app.store, t.clock);
    /** What running-session.ts recheck() does: ask the store, then end or re-time. */
    const recheck = async (): Promise<string> => {
      const v = await authorizer.stillValid(d.auth);
      if (!v.ok) { t.app.live.close(id, v.reason); return v.reason; }
      t.app.live.retimeWindow(id, v.windowEndsAt);
      return 'ok';
    };
    const rewindow = (w: string): Promise<unknown> => t.app.policies.replace('admin', 'vendor-hours', policy({ window: parseWindow(w) }));
    // 11:00 Berlin: narrowed to noon; then, at 11:30, widened to 18:00: the session runs past noon.
    await rewindow('mon-fri 09:00-12:00 Europe/Berlin');
    expect(await recheck()).toBe('ok');
    t.clock.advance(30 * MIN);
    await rewindow('mon-fri 09:00-18:00 Europe/Berlin');
    expect(await recheck()).toBe('ok');
    t.clock.advance(H);
    expect(s.closed).toEqual([]);
    // 12:30: narrowed again to end at 13:00: warned and cut then.
    await rewindow('mon-fri 09:00-13:00 Europe/Berlin');
    expect(await recheck()).toBe('ok');
    t.clock.advance(30 * MIN);
    expect(s.warned.at(-1)).toMatch(/ends in \d+ s \(its access window closes\)/);
    expect(s.closed).toEqual(['window-closed']);
    // A second session, and a window closed at this hour: the recheck ends it at once.
    await rewindow('mon-fri 09:00-18:00 Europe/Berlin');
    const s2 = await connect();
    if (typeof s2 === 'string') throw new Error(s2);
    await rewindow('sat 09:00-10:00 Europe/Berlin');
    const v = await authorizer.stillValid(d.auth);
    expect(v).toEqual({ ok: false, reason: 'window-closed' });
  });
});

describe('one-time links under a policy with an access window', () => {
  it('open only inside it, refused before their use is spent, and carry the window\'s close', async () => {
    await t.app.policies.add('admin', policy({ allowLinks: true }));
    const { token, link } = await t.app.links.create(vendor, { target: 'web01', ttlMs: 24 * H, label: 'vendor visit' });
    t.clock.advance(7 * H); // 18:00 Berlin
    await expect(t.app.links.open(token, '127.0.0.1')).rejects.toMatchObject({ code: 'outside-window', message: expect.stringMatching(/^web01 is usable mon-fri 09:00-17:00 Europe\/Berlin; next from Tue 09:00 CET/) as unknown });
    expect((await t.app.links.get(link.id)).usesLeft).toBe(1);
    t.clock.advance(15 * H); // Tue 09:00 Berlin
    const opened = await t.app.links.open(token, '127.0.0.1');
    expect(opened.auth.windowEndsAt).toBe(t.clock.now() + 8 * H);
  });
});
