// How the CLI finds the gateway and who it speaks as:
//   - PORTCULLIS_URL / PORTCULLIS_TOKEN / PORTCULLIS_CA from the environment;
//   - else, with an explicit --data DIR: the admin token and serve.json written there;
//   - else the session stored by `portcullis login` ($PORTCULLIS_HOME or ~/.portcullis);
//   - else the default data dir (./data or PORTCULLIS_DATA).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { certPaths } from '../../certs/ca.js';
import { dataPaths, defaultDataDir } from '../config/data-dir.js';
import { PortcullisError } from '../util/errors.js';

export interface Connection {
  url: string;
  token: string | null;
  caPem: string | null;
}

export interface StoredLogin {
  url: string;
  token: string;
  caPem: string | null;
  user: string;
  expiresAt: string;
}

export function loginFile(env: NodeJS.ProcessEnv): string {
  return join(env.PORTCULLIS_HOME ?? join(homedir(), '.portcullis'), 'credentials.json');
}

export function saveLogin(env: NodeJS.ProcessEnv, login: StoredLogin): string {
  const file = loginFile(env);
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(login, null, 2) + '\n', { mode: 0o600 });
  return file;
}

export function removeLogin(env: NodeJS.ProcessEnv): void {
  rmSync(loginFile(env), { force: true });
}

function readLogin(env: NodeJS.ProcessEnv): StoredLogin | null {
  const file = loginFile(env);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as StoredLogin;
}

/** The stored login, when it is what resolveConnection speaks as (no token from env, no --data). */
export function storedLoginInUse(env: NodeJS.ProcessEnv, explicitData: string | undefined): StoredLogin | null {
  if ((env.PORTCULLIS_URL && env.PORTCULLIS_TOKEN) || explicitData) return null;
  return readLogin(env);
}

export function serverInfo(dataDir: string): { url: string; caPem: string | null } | null {
  const p = dataPaths(dataDir);
  if (!existsSync(p.serveInfo)) return null;
  const info = JSON.parse(readFileSync(p.serveInfo, 'utf8')) as { url: string };
  const ca = certPaths(p.root).caCert;
  return { url: info.url, caPem: existsSync(ca) ? readFileSync(ca, 'utf8') : null };
}

export function resolveConnection(env: NodeJS.ProcessEnv, explicitData: string | undefined): Connection {
  const caFromEnv = env.PORTCULLIS_CA ? readFileSync(env.PORTCULLIS_CA, 'utf8') : null;
  if (env.PORTCULLIS_URL && env.PORTCULLIS_TOKEN) {
    return { url: env.PORTCULLIS_URL, token: env.PORTCULLIS_TOKEN, caPem: caFromEnv };
  }
  const fromData = (dir: string): Connection | null => {
    const info = serverInfo(dir);
    const tokenFile = dataPaths(dir).adminToken;
    if (!info) return null;
    return { url: env.PORTCULLIS_URL ?? info.url, token: existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : null, caPem: caFromEnv ?? info.caPem };
  };
  if (explicitData) {
    const c = fromData(explicitData);
    if (!c) throw new PortcullisError('unavailable', `no running gateway found for ${explicitData} (start it: portcullis serve --data ${explicitData})`);
    return c;
  }
  const login = readLogin(env);
  if (login) return { url: login.url, token: login.token, caPem: caFromEnv ?? login.caPem };
  const c = fromData(defaultDataDir(env));
  if (c) return c;
  throw new PortcullisError('unauthenticated', 'not connected to a gateway: run "portcullis login --server URL --user NAME", or pass --data DIR on the gateway host');
}
