// Issue 18 items 4 and 5 end to end: the built CLI adds policies with --ticket-check pointing at a
// real local HTTP ticket server and --window; `request` is accepted or refused by what that server
// answers (a no, garbage, a hang hitting the real 5 s limit); real OpenSSH through the built
// gateway to a real sshd is refused outside the policy's window and let through inside it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyView, RequestView } from '../../gateway/access/views.js';
import { adminIn, adminSpawned, asIn, loginIn } from '../harness/cli-in-process.js';
import { json } from '../harness/gateway.js';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let tickets: Server;
let ticketUrl: string;
const received: unknown[] = [];

/** HH:MM on a zone's clock (default UTC), `minutes` from now. */
const hhmm = (minutes: number, zone = 'UTC'): string =>
  new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(Date.now() + minutes * 60_000));

beforeAll(async () => {
  tickets = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      const q = JSON.parse(body) as { ticket: string };
      received.push(q);
      if (q.ticket === 'INC-hang') return; // never answers
      if (q.ticket === 'INC-garbage') { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sure</html>'); return; }
      if (q.ticket === 'INC-moved') { res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end(); return; }
      const valid = q.ticket.startsWith('INC-OK');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(valid ? { valid, reason: 'open, assigned to ops' } : { valid, reason: 'ticket is closed\u001b[31m' }));
    });
  });
  await new Promise<void>((r) => tickets.listen(0, '127.0.0.1', r));
  ticketUrl = `http://127.0.0.1:${(tickets.address() as AddressInfo).port}/check`;
  fx = await startSshFixture();
  expect((await loginIn(fx.gw, 'ops', 'ops-Password-1')).code).toBe(0);
}, 120_000);

afterAll(async () => {
  tickets?.closeAllConnections();
  tickets?.close();
  await fx?.stop();
});

describe('ticket checks and access windows through the CLI, OpenSSH and a ticket server', () => {
  it('policy add takes --ticket-check and --window, and policy list shows both', async () => {
    // Spawned once: the real binary's argv, exit status and output.
    const add = await adminSpawned(fx.gw, ['policy', 'add', 'ops-web', '--roles', 'ops', '--targets', 'web01', '--max', '1h', '--approvals', '0',
      '--ticket-check', ticketUrl, '--window', `${hhmm(120, 'Europe/Berlin')}-${hhmm(180, 'Europe/Berlin')} Europe/Berlin`, '--json']);
    expect(add.stderr).toBe('');
    expect(json<PolicyView>(add)).toMatchObject({ name: 'ops-web', ticket_check: ticketUrl, window: expect.stringMatching(/ Europe\/Berlin$/) as unknown });
    const list = await adminIn(fx.gw, ['policy', 'list']);
    expect(list.stdout).toMatch(/WINDOW\s+TICKET_CHECK/);
    expect(list.stdout).toContain(ticketUrl);
    const bad = await adminIn(fx.gw, ['policy', 'add', 'bad', '--roles', 'ops', '--targets', 'web01', '--window', 'mon-fri 09:00-17:00 Mars/Olympus']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown time zone or word "Mars\/Olympus"/);
    const creds = await adminIn(fx.gw, ['policy', 'add', 'bad', '--roles', 'ops', '--targets', 'web01', '--approvals', '0', '--ticket-check', 'http://u:secret@127.0.0.1/']);
    expect(creds.stderr).toMatch(/must not carry a user name or password/);
  });

  it('the ticket server decides: a no, garbage and a redirect refuse with their reasons; a yes is stored and shown', async () => {
    const no = await asIn(fx.gw, 'ops', ['request', 'web01', '--for', '30m', '--reason', 'deploy', '--ticket', 'INC-7']);
    expect(no.code).not.toBe(0);
    expect(no.stderr).toMatch(/the ticket system at 127\.0\.0\.1:\d+ says ticket INC-7 is not valid for this request: ticket is closed \[31m; the request was not made/);
    expect(received).toContainEqual({ ticket: 'INC-7', requester: 'ops', target: 'web01', level: 'default', reason: 'deploy' });
    expect((await asIn(fx.gw, 'ops', ['request', 'web01', '--for', '30m', '--reason', 'deploy', '--ticket', 'INC-garbage'])).stderr).toMatch(/did not answer JSON; the request was not made/);
    expect((await asIn(fx.gw, 'ops', ['request', 'web01', '--for', '30m', '--reason', 'deploy', '--ticket', 'INC-moved'])).stderr).toMatch(/answered with a redirect \(HTTP 302\), which is not followed/);
    expect((await asIn(fx.gw, 'ops', ['request', 'web01', '--for', '30m', '--reason', 'deploy'])).stderr).toMatch(/give the ticket with --ticket/);
    const ok = json<RequestView>(await asIn(fx.gw, 'ops', ['request', 'web01', '--for', '30m', '--reason', 'deploy', '--ticket', 'INC-OK-1', '--json']));
    expect(ok).toMatchObject({ status: 'approved', ticket_check: { valid: true, reason: 'open, assigned to ops', url: ticketUrl } });
    const table = await asIn(fx.gw, 'ops', ['requests']);
    expect(table.stdout).toMatch(/TICKET_CHECK/);
    expect(table.stdout).toContain('valid (open, assigned to ops)');
  });

  it('outside the window OpenSSH is refused saying when it opens; inside it the same grant works', async () => {
    const out = await fx.ssh('ops+web01', ['echo', 'inside'], { extra: ['-o', 'BatchMode=no', '-o', 'LogLevel=INFO', '-o', 'PreferredAuthentications=publickey,keyboard-interactive'] });
    expect(out.status).toBe(255);
    expect(out.stdout.toString()).toBe('');
    expect(out.stderr).toMatch(/web01 is usable \d\d:\d\d-\d\d:\d\d Europe\/Berlin; next from \w{3} \d\d:\d\d CE\S*T \(in [\dhm ]+\)/);
    // The window moved to include now (policy replace): the grant from before is usable at once.
    const moved = await adminIn(fx.gw, ['policy', 'replace', 'ops-web', '--roles', 'ops', '--targets', 'web01', '--max', '1h', '--approvals', '0',
      '--ticket-check', ticketUrl, '--window', `${hhmm(-60)}-${hhmm(120)}`]);
    expect(moved.stderr).toBe('');
    const inside = await fx.ssh('ops+web01', ['echo', 'inside']);
    expect(inside.stderr).toBe('');
    expect(inside.stdout.toString()).toBe('inside\n');
  }, 60_000);

  it('a ticket server that never answers refuses the request after the real 5 s', async () => {
    const started = Date.now();
    const r = await asIn(fx.gw, 'ops', ['request', 'web01', '--for', '30m', '--reason', 'deploy', '--ticket', 'INC-hang']);
    const took = Date.now() - started;
    expect(r.stderr).toMatch(/the ticket system at 127\.0\.0\.1:\d+ did not answer within 5 s; the request was not made/);
    expect(took).toBeGreaterThanOrEqual(4_900);
    expect(took).toBeLessThan(15_000);
  }, 30_000);
});
