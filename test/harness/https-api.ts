// Plain HTTPS requests to a gateway's API, trusting only its CA: for tests that need to see the
// raw status and body (and send headers the CLI never sends). Not a client library.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { GatewayPeer } from './gateway.js';

export interface ApiReply { status: number; body: string; headers: Record<string, string | string[] | undefined> }

export function apiRequest(gw: Pick<GatewayPeer, 'url' | 'caFile'>, method: string, path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiReply> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, gw.url), {
      method, ca: readFileSync(gw.caFile),
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b, headers: res.headers }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/** Signs in with a password (POST /api/v1/login) and returns the API token. */
export async function apiLogin(gw: Pick<GatewayPeer, 'url' | 'caFile'>, user: string, password: string): Promise<string> {
  const r = await apiRequest(gw, 'POST', '/api/v1/login', { body: { user, password } });
  if (r.status !== 200) throw new Error(`login of ${user} failed: ${r.status} ${r.body}`);
  return (JSON.parse(r.body) as { token: string }).token;
}
