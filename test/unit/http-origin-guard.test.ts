// The Origin rule as the API and the upgrade handler apply it: which requests it refuses, what it
// logs, and that it audits a refusal that carried a real session at most once a minute per user.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../../gateway/store/records.js';
import { originGuard } from '../../gateway/http/origin-guard.js';
import { FakeClock } from '../support/fake-clock.js';

const GW = 'https://127.0.0.1:8443';

function setup(): { guard: ReturnType<typeof originGuard>; logs: unknown[]; audits: unknown[]; clock: FakeClock } {
  const logs: unknown[] = [];
  const audits: unknown[] = [];
  const clock = new FakeClock(1_000_000);
  const user = { name: 'inv', roles: ['investigator'] } as unknown as UserRecord;
  const guard = originGuard({
    config: { api: { tokenTtl: '12h' }, http: { port: 8443, origins: ['https://pam.example.com'] }, publicUrl: null },
    addresses: { url: GW, sshHost: '127.0.0.1', sshPort: 2222, pgPort: 15432, mysqlPort: 13306 },
    log: { info: (o: unknown) => logs.push(o) } as never,
    audit: { record: (code: string, actor: string, data: unknown) => audits.push({ code, actor, data }) } as never,
    authn: { byToken: (t: string) => Promise.resolve(t === 'pcat_good' ? user : undefined) } as never,
    clock,
  });
  return { guard, logs, audits, clock };
}

const req = (method: string, headers: Record<string, string>): IncomingMessage =>
  ({ method, headers: { host: '127.0.0.1:8443', ...headers }, socket: { remoteAddress: '127.0.0.1', remotePort: 5000 } }) as unknown as IncomingMessage;
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('originGuard', () => {
  it('lets an upgrade through only with one of the gateway\'s origins', () => {
    const { guard, logs } = setup();
    expect(guard.upgrade(req('GET', { origin: GW }), '/live')).toBeNull();
    expect(guard.upgrade(req('GET', { origin: 'https://pam.example.com' }), '/live')).toBeNull();
    expect(guard.upgrade(req('GET', {}), '/live')).toMatchObject({ reason: 'missing' });
    expect(guard.upgrade(req('GET', { origin: 'https://127.0.0.1:9999' }), '/live')).toMatchObject({ reason: 'foreign' });
    expect(logs).toHaveLength(2);
    expect(logs[1]).toMatchObject({ origin: 'https://127.0.0.1:9999', reason: 'foreign', kind: 'upgrade', path: '/live' });
  });

  it('checks changes: a cookie needs our Origin, a token without one passes, a foreign one never does', () => {
    const { guard } = setup();
    expect(guard.request(req('GET', { origin: 'https://evil.example' }), '/api/v1/x', true)).toBeNull();
    expect(guard.request(req('POST', {}), '/api/v1/x', false)).toBeNull();
    expect(guard.request(req('POST', {}), '/api/v1/x', true)).toMatchObject({ reason: 'missing' });
    expect(guard.request(req('POST', { origin: GW }), '/api/v1/x', true)).toBeNull();
    expect(guard.request(req('POST', { origin: 'https://evil.example' }), '/api/v1/web/login', false)).toMatchObject({ reason: 'foreign' });
    expect(guard.request(req('DELETE', { origin: 'null' }), '/api/v1/x', true)).toMatchObject({ reason: 'malformed' });
  });

  it('audits a refusal that carried a real session, once a minute per user', async () => {
    const { guard, audits, clock } = setup();
    const evil = { origin: 'https://127.0.0.1:9999' };
    guard.upgrade(req('GET', { ...evil, cookie: 'pc_session=pcat_bad' }), '/live');
    await settle();
    expect(audits).toHaveLength(0);
    for (let i = 0; i < 50; i++) guard.upgrade(req('GET', { ...evil, cookie: 'pc_session=pcat_good' }), '/live');
    await settle();
    expect(audits).toEqual([{ code: 'http.origin_refused', actor: 'inv', data: { user: 'inv', path: '/live', origin: evil.origin, reason: 'foreign', addr: '127.0.0.1', kind: 'upgrade' } }]);
    clock.advance(61_000);
    guard.request(req('POST', { ...evil, authorization: 'Bearer pcat_good' }), '/api/v1/x', false);
    await settle();
    expect(audits).toHaveLength(2);
  });
});
