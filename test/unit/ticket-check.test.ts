// The ticket check (access/ticket-check.ts) without sockets: each way a ticket system can fail
// refuses with its own sentence; a yes is stored with the request and audited; a no refuses with
// the system's reason, cleaned. Then through the real request service on the fake clock.
import { afterEach, describe, expect, it } from 'vitest';
import type { NewPolicy } from '../../gateway/access/policies.js';
import { checkTicketUrl, cleanText, TicketChecker, type TicketHttp, type TicketHttpAnswer } from '../../gateway/access/ticket-check.js';
import { addSshTarget, testApp, type TestApp } from '../support/test-app.js';

const URL_OK = 'http://tickets.test:8080/check';
const Q = { ticket: 'INC-42', requester: 'ops', target: 'web01', level: 'default', reason: 'deploy' };
const answer = (status: number, body: string | Buffer): TicketHttp => () => Promise.resolve({ status, body: Buffer.from(body) });
const json = (v: unknown): TicketHttp => answer(200, JSON.stringify(v));
const socketError = (code: string): TicketHttp => () => Promise.reject(Object.assign(new Error(`connect ${code} 10.1.2.3:8080 /secret/path`), { code }));
const hanging: TicketHttp = (_u, _j, { signal }) => new Promise<TicketHttpAnswer>((_r, reject) => { signal.addEventListener('abort', () => reject(new Error('aborted'))); });
const checker = (http: TicketHttp, timeoutMs = 5_000): TicketChecker => new TicketChecker(http, () => 1_000, timeoutMs);

describe('the ticket check', () => {
  it.each<[string, TicketHttp, RegExp]>([
    ['a hanging endpoint', hanging, /^the ticket system at tickets\.test:8080 did not answer within 0\.2 s; the request was not made$/],
    ['connection refused', socketError('ECONNREFUSED'), /could not be reached \(connection refused\); the request was not made$/],
    ['a name that does not resolve', socketError('ENOTFOUND'), /could not be reached \(its name does not resolve\)/],
    ['an untrusted certificate', socketError('SELF_SIGNED_CERT_IN_CHAIN'), /its TLS certificate is not trusted: SELF_SIGNED_CERT_IN_CHAIN; add its CA with NODE_EXTRA_CA_CERTS/],
    ['HTTP 500', answer(500, '{"valid":true}'), /answered HTTP 500, not 200; the request was not made$/],
    ['HTTP 204', answer(204, ''), /answered HTTP 204, not 200/],
    ['a redirect', answer(302, ''), /answered with a redirect \(HTTP 302\), which is not followed/],
    ['more than 64 KiB', answer(200, Buffer.alloc(64 * 1024 + 1, 0x20)), /answered with more than 64 KiB/],
    ['HTML', answer(200, '<html>ok</html>'), /did not answer JSON/],
    ['bytes that are not UTF-8', answer(200, Buffer.from([0x7b, 0xff, 0x7d])), /did not answer JSON/],
    ['an array', json([{ valid: true }]), /answered without \{"valid": true\|false\}/],
    ['valid as a string', json({ valid: 'true' }), /answered without \{"valid": true\|false\}/],
    ['null', json(null), /answered without/],
    ['a reason that is not a string', json({ valid: true, reason: { x: 1 } }), /answered a "reason" that is not a string/],
  ])('refuses on %s, saying why', async (_what, http, message) => {
    const v = await checker(http, 200).check(URL_OK, Q);
    expect(v.ok).toBe(false);
    expect(v.code).toBe('ticket-check-failed');
    expect(v.message).toMatch(message);
    expect(v.message).not.toContain('10.1.2.3');
    expect(v.result).toMatchObject({ valid: false, url: URL_OK, checkedAt: 1_000 });
  });

  it('accepts valid: true and keeps the reason; sends the ticket, requester, target, level and reason as JSON', async () => {
    let sent: unknown;
    const v = await checker((url, body) => { sent = { url: url.href, body: JSON.parse(body) as unknown }; return Promise.resolve({ status: 200, body: Buffer.from('{"valid":true,"reason":"open, assigned to ops"}') }); }).check(URL_OK, Q);
    expect(v).toEqual({ ok: true, code: null, message: '', result: { valid: true, reason: 'open, assigned to ops', url: URL_OK, checkedAt: 1_000 } });
    expect(sent).toEqual({ url: URL_OK, body: Q });
  });

  it('refuses valid: false with the system\'s reason, cleaned of control and bidi characters and bounded', async () => {
    const v = await checker(json({ valid: false, reason: 'closed\u001b[2J\r\nby \u202emallory\u2066 ' + 'x'.repeat(500) })).check(URL_OK, Q);
    expect(v.code).toBe('ticket-invalid');
    expect(v.message).toMatch(/^the ticket system at tickets\.test:8080 says ticket INC-42 is not valid for this request: closed \[2J by mallory x+…; the request was not made$/);
    expect(v.result.reason!.length).toBeLessThanOrEqual(200);
    // eslint-disable-next-line no-control-regex
    expect(v.result.reason).not.toMatch(/[\u0000-\u001f\u202e\u2066]/);
  });

  it('holds policies\' URLs to http(s) without credentials', () => {
    expect(checkTicketUrl('https://t.example/check?team=ops').host).toBe('t.example');
    expect(() => checkTicketUrl('ftp://t.example/')).toThrow(/must be an http:\/\/ or https:\/\/ URL/);
    expect(() => checkTicketUrl('https://user:secret@t.example/')).toThrow(/must not carry a user name or password/);
    expect(() => checkTicketUrl('not a url')).toThrow(/not a URL/);
    expect(() => checkTicketUrl('file:///etc/passwd')).toThrow(/http/);
    expect(cleanText('  a\u0000b\u200bc  ', 10)).toBe('a b c');
  });
});

describe('requests under a policy with a ticket check', () => {
  let t: TestApp;
  afterEach(() => t.close());
  const MIN = 60_000;
  const policy = (over: Partial<NewPolicy> = {}): NewPolicy => ({
    name: 'ops-web', roles: ['ops'], targets: ['web01'], targetTags: [], maxDurationMs: 60 * MIN, requireReason: true,
    ticketPattern: null, approvalsRequired: 0, approverRoles: [], autoApprove: null, breakglass: false, recordKeystrokes: true,
    allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [], ticketCheck: URL_OK, ...over,
  });

  async function setup(http: TicketHttp): Promise<void> {
    t = await testApp({ tickets: { http, timeoutMs: 200 } });
    await addSshTarget(t.app, 'web01');
    await t.app.policies.add('admin', policy());
  }
  const audit = async (code: string): Promise<unknown[]> => (await t.app.audit.page(0, 1000)).filter((e) => e.code === code).map((e) => e.data);

  it('a yes is stored with the request, shown in its view and audited with request.created; it is asked before auto-approval', async () => {
    await setup(json({ valid: true, reason: 'open' }));
    const ops = await t.user('ops', ['ops']);
    const r = await t.app.requests.create(ops, { target: 'web01', durationMs: 30 * MIN, reason: 'deploy', ticket: 'INC-42' });
    expect(r.status).toBe('approved');
    expect((await t.app.store.requests.byId(r.id))!.ticketCheck).toEqual({ valid: true, reason: 'open', url: URL_OK, checkedAt: t.clock.now() });
    expect((await t.app.requests.view(r)).ticket_check).toEqual({ valid: true, reason: 'open', url: URL_OK, checked_at: new Date(t.clock.now()).toISOString() });
    expect(await audit('request.created')).toEqual([expect.objectContaining({ ticketCheck: { valid: true, reason: 'open', url: URL_OK } })]);
  });

  it('a no, a hang and a missing ticket refuse the request: nothing stored, no grant, audited as request.refused with the answer', async () => {
    let http: TicketHttp = json({ valid: false, reason: 'ticket is closed' });
    await setup((u, j, l) => http(u, j, l));
    const ops = await t.user('ops', ['ops']);
    const ask = (ticket?: string): Promise<unknown> => t.app.requests.create(ops, { target: 'web01', durationMs: 30 * MIN, reason: 'deploy', ticket });
    await expect(ask('INC-42')).rejects.toMatchObject({ code: 'ticket-invalid', message: expect.stringMatching(/says ticket INC-42 is not valid for this request: ticket is closed/) as unknown });
    http = hanging;
    await expect(ask('INC-42')).rejects.toMatchObject({ code: 'ticket-check-failed', message: 'the ticket system at tickets.test:8080 did not answer within 0.2 s; the request was not made' });
    await expect(ask()).rejects.toMatchObject({ code: 'ticket-invalid', message: expect.stringMatching(/checks tickets with the ticket system at tickets\.test:8080: give the ticket with --ticket/) as unknown });
    expect(await t.app.store.requests.list({})).toEqual([]);
    expect(await t.app.grants.list({ active: true })).toEqual([]);
    expect(await audit('request.refused')).toEqual([
      expect.objectContaining({ code: 'ticket-invalid', ticketCheck: { valid: false, reason: 'ticket is closed', url: URL_OK } }),
      expect.objectContaining({ code: 'ticket-check-failed', ticketCheck: { valid: false, reason: 'did not answer within 0.2 s', url: URL_OK } }),
      expect.objectContaining({ code: 'ticket-invalid' }),
    ]);
  });

  it('a ticket over 200 characters or with control characters is refused before the pattern, the ticket system or the store see it', async () => {
    let asked = 0;
    await setup((u, j, l) => { asked++; return json({ valid: true })(u, j, l); });
    await t.app.policies.replace('admin', 'ops-web', policy({ ticketPattern: '[A-Z]+-[0-9]+' }));
    const ops = await t.user('ops', ['ops']);
    const ask = (ticket: string): Promise<unknown> => t.app.requests.create(ops, { target: 'web01', durationMs: 30 * MIN, reason: 'deploy', ticket });
    const started = Date.now();
    await expect(ask('A'.repeat(256 * 1024))).rejects.toMatchObject({ code: 'ticket-invalid', message: 'the ticket is longer than 200 characters' });
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(ask('INC-1\u001b]2;x\u0007')).rejects.toMatchObject({ code: 'ticket-invalid' });
    await expect(ask('INC-1\u202e')).rejects.toMatchObject({ code: 'ticket-invalid' });
    expect(asked).toBe(0);
    expect(await t.app.store.requests.list({})).toEqual([]);
  });

  it('a policy refuses a ticket check URL that is not http(s) or carries credentials, through add and replace', async () => {
    await setup(json({ valid: true }));
    await expect(t.app.policies.add('admin', policy({ name: 'p2', ticketCheck: 'gopher://x/' }))).rejects.toThrow(/http/);
    await expect(t.app.policies.replace('admin', 'ops-web', policy({ ticketCheck: 'https://a:b@x/' }))).rejects.toThrow(/user name or password/);
    await expect(t.app.policies.add('admin', policy({ name: 'p3', window: { days: [9], fromMinute: 0, toMinute: 60, zone: 'UTC' } }))).rejects.toThrow(/weekdays 0-6/);
    await expect(t.app.policies.add('admin', policy({ name: 'p4', window: { days: [], fromMinute: 0, toMinute: 60, zone: 'Nowhere/Land' } }))).rejects.toThrow(/unknown time zone/);
  });
});
