// HTTPS client for the gateway API. Verifies the server against the gateway CA (never skips
// verification); errors from the API come back as PortcullisErrors with the server's code.
import { request } from 'node:https';
import { ERROR_STATUS, type ErrorCode, PortcullisError } from '../util/errors.js';
import type { Connection } from './connection.js';

export class ApiClient {
  constructor(private readonly conn: Connection) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** A raw (non-JSON) body, e.g. a recording file. */
  async text(path: string): Promise<string> {
    return this.call<string>('GET', path, undefined, true);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  del<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  private call<T>(method: string, path: string, body?: unknown, raw = false): Promise<T> {
    const url = new URL(path, this.conn.url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(url, {
        method,
        ca: this.conn.caPem ?? undefined,
        headers: {
          ...(this.conn.token ? { authorization: `Bearer ${this.conn.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
        timeout: 60_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (raw && (res.statusCode ?? 500) < 400) return resolve(text as T);
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            return reject(new PortcullisError('internal', `gateway sent a non-JSON reply (HTTP ${res.statusCode})`));
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = (json as { error?: { code?: string; message?: string } } | null)?.error;
            const code = e?.code && e.code in ERROR_STATUS ? (e.code as ErrorCode) : 'internal';
            return reject(new PortcullisError(code, e?.message ?? `HTTP ${res.statusCode}`));
          }
          resolve(json as T);
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(new PortcullisError('unavailable', `cannot reach the gateway at ${this.conn.url}: ${err.message}`)));
      if (payload) req.write(payload);
      req.end();
    });
  }
}
