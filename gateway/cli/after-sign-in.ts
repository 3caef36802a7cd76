// What every way of signing in from the CLI does once the login (token) is saved: the one place
// a password login and a single sign-on both end, so what a sign-in leaves behind is written once:
// a fresh Ed25519 key pair and a short-lived OpenSSH user certificate for it, signed by the
// gateway's user CA and bound to this sign-in (it stops working at logout, token revocation, a
// password change or when the user is disabled). A new key every sign-in: a key never outlives
// the certificates of the sign-in it was made for. A gateway without the endpoint (older) or one
// that refuses (a service account) gets a warning; the login itself has succeeded already.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { newHostKeyPair } from '../ssh/host-key.js';
import { isPortcullisError } from '../util/errors.js';
import { ApiClient } from './api-client.js';
import type { CommandContext } from './command.js';
import type { StoredLogin } from './connection.js';
import { sshFiles } from './ssh-files.js';

interface IssuedAnswer { certificate: string; valid_before: string; principal: string }

export async function afterSignIn(c: CommandContext, login: StoredLogin): Promise<void> {
  const f = sshFiles(c.env);
  // ssh2 writes the OpenSSH private key format ssh reads; newHostKeyPair drops the rare key ssh2 cannot read back.
  const kp = newHostKeyPair();
  let issued: IssuedAnswer;
  try {
    issued = await new ApiClient({ url: login.url, token: login.token, caPem: login.caPem })
      .post<IssuedAnswer>('/api/v1/ssh/certificates', { public_key: kp.public });
  } catch (err) {
    const why = isPortcullisError(err) && err.code === 'not-found' ? 'this gateway does not issue SSH certificates (older version)' : isPortcullisError(err) ? err.message : String(err);
    c.out.error(`portcullis: warning: no SSH certificate: ${why}\n`);
    return;
  }
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  // Each file written whole then renamed: ssh never reads a key without its certificate half-written.
  put(f.key, kp.private, 0o600);
  put(f.pub, kp.public + '\n', 0o644);
  put(f.cert, issued.certificate + '\n', 0o644);
  if (!c.json) {
    c.out.write(`SSH certificate for ${issued.principal} valid until ${issued.valid_before}: ${f.cert} (key ${f.key})\n`);
    c.out.write('for plain ssh: portcullis ssh-config >> ~/.ssh/config, then ssh <you>+TARGET@portcullis\n');
  }
}

function put(path: string, content: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}
