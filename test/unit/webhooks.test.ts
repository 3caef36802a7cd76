import { describe, expect, it } from 'vitest';
import type { AccessEvents } from '../../gateway/access/events.js';
import { DeadlineScheduler } from '../../gateway/util/deadline-scheduler.js';
import { EventBus } from '../../gateway/util/event-bus.js';
import { WebhookNotifier } from '../../gateway/webhooks/notifier.js';
import { FakeClock } from '../support/fake-clock.js';

const grant = { id: 'grt_1', user: 'ops', target: 'web01', expires_at: '2026-11-23T11:00:00.000Z', reason: 'r' } as AccessEvents['grant.created']['grant'];
const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve(); };

describe('webhook delivery', () => {
  it('retries failures with exponential backoff and gives up after six attempts', async () => {
    const clock = new FakeClock(0);
    const attempts: number[] = [];
    const failures: boolean[] = [];
    const n = new WebhookNotifier([{ url: 'http://127.0.0.1:1/x', events: [] }], clock, new DeadlineScheduler(clock), {
      delivered: () => {}, failed: (_u, _e, _a, _err, final) => failures.push(final),
    }, () => { attempts.push(clock.now()); return Promise.reject(new Error('refused')); });
    const bus = new EventBus<AccessEvents>();
    n.subscribe(bus);
    bus.emit('grant.created', { grant });
    for (let i = 0; i < 40; i++) { await flush(); clock.advance(1000); }
    expect(attempts).toEqual([0, 1000, 3000, 7000, 15000, 31000]);
    expect(failures).toEqual([false, false, false, false, false, true]);
    expect(n.queued).toBe(0);
  });

  it('sends Slack-compatible bodies only for the configured events, and never throws into the publisher', async () => {
    const clock = new FakeClock(0);
    const sent: Array<{ text: string; event: string }> = [];
    const n = new WebhookNotifier([{ url: 'http://x', events: ['breakglass.used'] }], clock, new DeadlineScheduler(clock), {
      delivered: () => {}, failed: () => {},
    }, (_u, body) => { sent.push(JSON.parse(body) as { text: string; event: string }); return Promise.resolve(204); });
    const bus = new EventBus<AccessEvents>();
    n.subscribe(bus);
    bus.emit('grant.created', { grant });
    bus.emit('breakglass.used', { grant });
    await flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ event: 'breakglass.used', text: expect.stringContaining('BREAK-GLASS') as string });
  });
});
