// The web UI's assets, built by `npm run build` (esbuild) into dist/web-player/, served with a
// strict Content-Security-Policy: everything from the gateway itself, nothing from the internet.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function assetDir(): string {
  // dist/gateway/http/ → dist/web-player/
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    const candidate = join(d, 'dist', 'web-player');
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(d, 'web-player', 'index.html')) && d.endsWith('dist')) return join(d, 'web-player');
  }
  return join(process.cwd(), 'dist', 'web-player');
}

const cache = new Map<string, Buffer>();

/** Serves / and /assets/*; returns false when the path is not an asset. */
export function serveAsset(path: string, res: ServerResponse): boolean {
  // A vendor's link (/l/TOKEN) is the same page; it reads the token from its own address.
  const page = path === '/' || path === '/index.html' || /^\/(l|setup)\/[A-Za-z0-9_-]{0,100}$/.test(path);
  const name = page ? 'index.html' : /^\/assets\/([a-z0-9-]+\.(js|css))$/.exec(path)?.[1];
  if (!name) return false;
  let body = cache.get(name);
  if (!body) {
    const file = join(assetDir(), name);
    if (!existsSync(file)) return false;
    body = readFileSync(file);
    cache.set(name, body);
  }
  res.writeHead(200, {
    'content-type': TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream',
    'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache',
  });
  res.end(body);
  return true;
}
