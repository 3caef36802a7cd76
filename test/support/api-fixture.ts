// The real HTTPS API server around an in-process App (test-app.ts), on a free loopback port with
// the gateway CA: for tests that drive the built CLI or a real browser while the targets behind the
// services are fakes (e.g. a fake AdminSession). No protocol listener runs.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ensureCerts } from '../../certs/ca.js';
import type { Composed } from '../../gateway/http/router.js';
import { createApiServer } from '../../gateway/http/server.js';
import type { TestApp } from './test-app.js';

export interface ApiFixture {
  url: string;
  /** The gateway CA's certificate, as a file (PORTCULLIS_CA). */
  caFile: string;
  caPem: string;
  close(): Promise<void>;
}

export async function startApi(t: TestApp): Promise<ApiFixture> {
  const certs = ensureCerts(t.dir, ['127.0.0.1']);
  // What only serve composes (vendor terminals, target test, fetch-cert) is not reachable here.
  const unused = (): Promise<never> => Promise.reject(new Error('not composed in this test'));
  const composed = { vendorTerminals: {}, checkTarget: unused, fetchCertificate: unused } as unknown as Composed;
  const server: Server = createApiServer(t.app, composed, { cert: readFileSync(certs.serverCert, 'utf8'), key: readFileSync(certs.serverKey, 'utf8') });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const caPem = readFileSync(certs.caCert, 'utf8');
  const caFile = join(t.dir, 'ca-for-tests.pem');
  writeFileSync(caFile, caPem);
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caFile, caPem,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
