// The HTTP client the OIDC library uses when `oidc.ca_file` names a private CA: node's https with
// that CA (the global fetch cannot take one without undici, which is not a dependency). Answers are
// capped in size and time: a provider that hangs or floods cannot hold a sign-in or the memory.
import { request } from 'node:https';
import type { CustomFetch } from 'openid-client';

const MAX_ANSWER = 1024 * 1024;
const TIMEOUT_MS = 10_000;

export function fetchWithCa(caPem: string): CustomFetch {
  return (url, options) => new Promise<Response>((resolve, reject) => {
    // agent false: no kept-alive socket, which the provider may close just as it is reused (ECONNRESET).
    const req = request(url, { method: options.method, headers: options.headers, ca: caPem, timeout: TIMEOUT_MS, agent: false, ...(options.signal ? { signal: options.signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER) {
          req.destroy(new Error(`the identity provider's answer is over ${MAX_ANSWER} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (typeof v === 'string') headers.set(k, v);
          else if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
        }
        const status = res.statusCode ?? 502;
        const empty = status === 204 || status === 304 || (status >= 100 && status < 200);
        resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers }));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from the identity provider within ${TIMEOUT_MS / 1000}s`)));
    req.on('error', reject);
    const body = options.body;
    if (body === undefined || body === null) req.end();
    else if (typeof body === 'string' || body instanceof URLSearchParams) req.end(String(body));
    else if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) req.end(Buffer.from(body instanceof ArrayBuffer ? body : body.buffer));
    else req.destroy(new Error('unsupported request body for the identity provider'));
  });
}
