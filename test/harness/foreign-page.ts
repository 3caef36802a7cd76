// A web page on another origin: an HTTPS server on its own port of 127.0.0.1 that serves one HTML
// page. Same host, another port: the same site as the gateway (SameSite cookies go along with its
// requests), another origin. Tests use it as the attacker's page that tries to act with a signed-in
// user's cookie. It borrows the gateway's listener certificate (valid for 127.0.0.1).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface ForeignPage {
  /** The page's origin, e.g. https://127.0.0.1:40123 */
  origin: string;
  close(): Promise<void>;
}

export async function startForeignPage(gatewayDataDir: string, html = '<!doctype html><title>elsewhere</title><p>another site</p>'): Promise<ForeignPage> {
  const certs = join(gatewayDataDir, 'certs');
  const server = createServer({ cert: readFileSync(join(certs, 'server.crt')), key: readFileSync(join(certs, 'server.key')) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
