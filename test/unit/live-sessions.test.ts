import { describe, expect, it } from 'vitest';
import { LiveSessions, type LiveSessionHandle } from '../../gateway/session/live-sessions.js';
import type { TerminationReason } from '../../gateway/session/termination.js';
import { DeadlineScheduler } from '../../gateway/util/deadline-scheduler.js';
import { FakeClock } from '../support/fake-clock.js';

function setup(): { clock: FakeClock; live: LiveSessions } {
  const clock = new FakeClock(0);
  return { clock, live: new LiveSessions(clock, new DeadlineScheduler(clock), 60_000) };
}

function session(id: string, expiresAt: number, grantId = 'g1'): LiveSessionHandle & { warnings: string[]; closed: TerminationReason[] } {
  const s = {
    id, protocol: 'ssh', user: 'ops', target: 'web01', grantId, clientAddr: '127.0.0.1', startedAt: 0, expiresAt,
    warnings: [] as string[], closed: [] as TerminationReason[],
    warn(m: string) { s.warnings.push(m); },
    close(r: TerminationReason) { s.closed.push(r); },
  };
  return s;
}

describe('the expiry watch', () => {
  it('warns 60 s before the grant ends and closes at the deadline', () => {
    const { clock, live } = setup();
    const s = session('s1', 300_000);
    live.register(s);
    clock.advance(239_999);
    expect(s.warnings).toEqual([]);
    clock.advance(1);
    expect(s.warnings).toEqual(['Portcullis: your access to web01 ends in 60 s']);
    clock.advance(59_999);
    expect(s.closed).toEqual([]);
    clock.advance(1);
    expect(s.closed).toEqual(['grant-expired']);
    expect(live.size).toBe(0);
  });

  it('closes every session of a revoked grant at once and leaves others alone', () => {
    const { live } = setup();
    const a = session('a', 300_000, 'g1');
    const b = session('b', 300_000, 'g1');
    const c = session('c', 300_000, 'g2');
    [a, b, c].forEach((s) => live.register(s));
    expect(live.closeGrant('g1', 'grant-revoked')).toBe(2);
    expect(a.closed).toEqual(['grant-revoked']);
    expect(b.closed).toEqual(['grant-revoked']);
    expect(c.closed).toEqual([]);
  });

  it('moves the warning and the cut when the grant is extended', async () => {
    const { clock, live } = setup();
    const { EventBus } = await import('../../gateway/util/event-bus.js');
    const events = new EventBus<import('../../gateway/access/events.js').AccessEvents>();
    live.watch(events);
    const s = session('s', 120_000);
    live.register(s);
    clock.advance(100_000);
    expect(s.warnings).toHaveLength(1);
    events.emit('grant.extended', { grant: { id: 'g1', expires_at: new Date(600_000).toISOString() } as never, by: 'alice' });
    clock.advance(100_000);
    expect(s.closed).toEqual([]);
    clock.advance(340_000);
    expect(s.warnings).toHaveLength(2);
    clock.advance(60_000);
    expect(s.closed).toEqual(['grant-expired']);
  });

  it('does not fire for a session that ended by itself', () => {
    const { clock, live } = setup();
    const s = session('s', 100_000);
    const done = live.register(s);
    done();
    clock.advance(200_000);
    expect(s.warnings).toEqual([]);
    expect(s.closed).toEqual([]);
  });

  it('handles 10,000 sessions with one timer, each cut at its own deadline', () => {
    const { clock, live } = setup();
    const sessions = Array.from({ length: 10_000 }, (_, i) => session(`s${i}`, 120_000 + i * 10, `g${i % 500}`));
    sessions.forEach((s) => live.register(s));
    expect(clock.pendingTimers).toBe(1);
    clock.advance(120_000 + 4_999 * 10);
    expect(sessions.filter((s) => s.closed.length === 1)).toHaveLength(5_000);
    expect(sessions[4_999]!.closed).toEqual(['grant-expired']);
    expect(sessions[5_000]!.closed).toEqual([]);
    expect(live.closeGrant('g7', 'grant-revoked')).toBe(10);
    clock.advance(60_000);
    expect(sessions.every((s) => s.closed.length === 1)).toBe(true);
    expect(sessions.every((s) => s.warnings.length === 1)).toBe(true);
    expect(live.size).toBe(0);
  });

  it('closes everything on shutdown with gateway-shutdown', () => {
    const { live } = setup();
    const s = session('s', 100_000);
    live.register(s);
    live.closeAll('gateway-shutdown');
    expect(s.closed).toEqual(['gateway-shutdown']);
  });
});
