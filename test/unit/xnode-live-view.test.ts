// The live view of a session that runs on another node: node B records it into the shared
// recordings directory, a viewer attaches through node A's WebSocket, gets what was recorded before
// and what is written after it attached, and is told when the session ended. The file tail itself:
// a line still being written is held back until whole.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CastTail } from '../../recorder/cast-tail.js';
import { SessionRecording } from '../../recorder/session-recording.js';
import type { LiveFrame } from '../../gateway/api-types.js';
import { liveViewRoute } from '../../gateway/http/live-view.js';
import { originGuard } from '../../gateway/http/origin-guard.js';
import { attachUpgrades } from '../../gateway/http/upgrade.js';
import { waitFor } from '../harness/common.js';
import { testTls } from '../harness/test-ca.js';
import { twoNodes, type TwoNodes } from '../support/two-nodes.js';

let n: TwoNodes;
let server: Server;
let token = '';

beforeAll(async () => {
  n = await twoNodes();
  token = (await n.a.app.authn.issueToken('test', n.admin, 'live view test', null)).token;
  server = createServer({ cert: testTls().server.certPem, key: testTls().server.keyPem });
  attachUpgrades(server, [liveViewRoute(n.a.app, n.a.app.liveRecordings)], n.a.app.log, originGuard(n.a.app));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await n?.close();
});

/** A live SSH session of node B: its record in the store and its recording in the shared directory. */
async function sessionOnB(id: string): Promise<SessionRecording> {
  const now = Date.now();
  await n.b.app.store.sessions.insert({
    id, protocol: 'ssh', userId: n.admin.id, targetId: 'tgt_x', grantId: 'gr_x', level: 'default', clientAddr: '127.0.0.1',
    startedAt: now, endedAt: null, endReason: null, recording: join(n.b.app.paths.recordings, id), node: 'node-b',
  });
  return new SessionRecording(join(n.b.app.paths.recordings, id), {
    session: id, protocol: 'ssh', user: 'admin', target: 'web01', grant: 'gr_x', reason: 'r', ticket: null, client_addr: '127.0.0.1',
    started_at: new Date(now).toISOString(),
  }, Date.now, (e) => { throw e; });
}

function watch(id: string): { frames: LiveFrame[]; closed: Promise<number>; opened: Promise<void> } {
  const port = (server.address() as AddressInfo).port;
  const ws = new WebSocket(`wss://127.0.0.1:${port}/api/v1/sessions/${id}/live`, { headers: { authorization: `Bearer ${token}` }, origin: `https://127.0.0.1:${port}`, rejectUnauthorized: false });
  const frames: LiveFrame[] = [];
  ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString('utf8')) as LiveFrame));
  return {
    frames,
    opened: new Promise((resolve, reject) => { ws.on('open', () => resolve()); ws.on('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`))); }),
    closed: new Promise((resolve) => ws.on('close', (code) => resolve(code))),
  };
}

const output = (frames: LiveFrame[]): string => frames.map((f) => (f.type === 'event' && f.event[1] === 'o' ? f.event[2] : '')).join('');

describe('the live view of a session on another node', () => {
  it('streams what node B recorded before and after the viewer attached on node A, then says the session ended', async () => {
    const id = 'ses_remote_live_1';
    const rec = await sessionOnB(id);
    const tap = rec.terminal({ width: 100, height: 30 });
    tap.output(Buffer.from('before attaching\r\n'));
    const v = watch(id);
    await v.opened;
    await waitFor('the catch-up', () => output(v.frames).includes('before attaching'), 5_000);
    expect(v.frames[0]).toMatchObject({ type: 'header', channel: 1, header: { width: 100, height: 30 } });
    const written = Date.now();
    tap.output(Buffer.from('written after attaching\r\n'));
    await waitFor('the new output', () => output(v.frames).includes('written after attaching'), 5_000);
    // The recorder writes within 500 ms and the view polls every 250 ms.
    expect(Date.now() - written).toBeLessThan(2_000);
    expect(output(v.frames)).toBe('before attaching\r\nwritten after attaching\r\n');
    tap.output(Buffer.from('last words\r\n'));
    await rec.close('closed-by-client');
    await n.b.app.store.sessions.end(id, Date.now(), 'closed-by-client');
    expect(await v.closed).toBe(1000);
    expect(v.frames.at(-1)).toEqual({ type: 'end' });
    expect(output(v.frames)).toContain('last words');
    const audit = (await n.a.app.audit.page(0, 10_000)).filter((e) => e.code === 'recording.viewed').map((e) => e.data);
    expect(audit).toContainEqual({ session: id, file: 'live', by: 'admin' });
  });

  it('refuses a session that is not live anywhere', async () => {
    const id = 'ses_remote_live_2';
    const rec = await sessionOnB(id);
    await rec.close('closed-by-client');
    await n.b.app.store.sessions.end(id, Date.now(), 'closed-by-client');
    await expect(watch(id).opened).rejects.toThrow('HTTP 404');
    await expect(watch('ses_nobody').opened).rejects.toThrow('HTTP 404');
  });
});

describe('following a cast file another process writes', () => {
  it('holds back a line still being written until it is whole, and skips a damaged one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-tail-'));
    try {
      const path = join(dir, 'ch-1.cast');
      const tail = new CastTail(path);
      expect(await tail.read()).toEqual({ events: [], skipped: 0, more: false });
      writeFileSync(path, '{"version":2,"width":80,"height":24}\n[0.1,"o","a"]\n[0.2,"o","b');
      const first = await tail.read();
      expect(first.header).toMatchObject({ width: 80 });
      expect(first.events).toEqual([[0.1, 'o', 'a']]);
      appendFileSync(path, 'c"]\nnot json\n[0.3,"o","d"]\n');
      expect(await tail.read()).toEqual({ events: [[0.2, 'o', 'bc'], [0.3, 'o', 'd']], skipped: 1, more: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
