// Every HTTPS connection that ends without a handled request gets exactly one line, under the
// address taken at accept: a failed handshake, a close before anything, a request. Sockets reset
// before accept have no address; two of them at once must not swallow each other's line (a TLS
// error on one used to mark the other as logged through their shared "no address" key).
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:https';
import { connect, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../gateway/log/logger.js';
import { logConnectionsWithoutRequest } from '../../gateway/http/connection-log.js';
import { testTls } from '../harness/test-ca.js';

const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
let server: Server;
let port = 0;

beforeAll(async () => {
  const { server: id } = testTls();
  server = createServer({ cert: id.certPem, key: id.keyPem }, (_req, res) => res.end('ok'));
  logConnectionsWithoutRequest(server, createLogger('debug', sink));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const until = async (ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
};
const linesFor = (localPort: number): Array<Record<string, unknown>> => lines.filter((l) => l.port === localPort);

describe('HTTPS connection log', () => {
  it('one line for a failed handshake, a silent close and a request, each under its address', async () => {
    const garbage = connect(port, '127.0.0.1');
    await new Promise((r) => garbage.once('connect', r));
    const gPort = garbage.localPort!;
    garbage.end('GET / HTTP/1.1\r\n\r\n');
    const silent = connect(port, '127.0.0.1');
    await new Promise((r) => silent.once('connect', r));
    const sPort = silent.localPort!;
    silent.end();
    const tls = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    await new Promise((r) => tls.once('secureConnect', r));
    const tPort = tls.localPort!;
    tls.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await until(() => linesFor(gPort).length > 0 && linesFor(sPort).length > 0 && linesFor(tPort).length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(linesFor(gPort).map((l) => l.msg)).toEqual(['http.tls_failed']);
    expect(linesFor(gPort)[0]!.addr).toBe('127.0.0.1');
    expect(linesFor(sPort).map((l) => [l.msg, l.reason])).toEqual([['http.closed_without_request', 'closed before sending anything']]);
    expect(linesFor(tPort).map((l) => l.msg)).toEqual(['http.connection_closed']);
  });

  it('two sockets without an address: a TLS error on one never silences the other', async () => {
    // Node's own listeners would take over these sockets: the log's listeners alone, on a bare emitter.
    const bare = new EventEmitter();
    const seen: Array<Record<string, unknown>> = [];
    const out = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l) seen.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
    logConnectionsWithoutRequest(bare as unknown as Server, createLogger('debug', out));
    // Unconnected sockets stand for connections reset before accept: no address to read.
    const a = new Socket();
    const b = new Socket();
    bare.emit('connection', a);
    bare.emit('connection', b);
    const tlsOfA = Object.assign(Object.create(Socket.prototype) as TLSSocket, { _parent: a, destroy: () => tlsOfA });
    bare.emit('tlsClientError', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), tlsOfA);
    a.destroy();
    b.destroy();
    await until(() => seen.length >= 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.map((l) => [l.msg, l.addr])).toEqual([['http.tls_failed', 'unknown'], ['http.closed_without_request', 'unknown']]);
  });
});
