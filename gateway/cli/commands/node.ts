// init and serve: the two commands that run on the gateway host itself.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataPaths, defaultDataDir } from '../../config/data-dir.js';
import { loadConfig } from '../../config/config.js';
import { createLogger } from '../../log/logger.js';
import { humanDestination } from '../../log/human.js';
import { type Command } from '../command.js';
import { initDataDir } from '../init.js';
import { startGateway } from '../../compose/gateway.js';
import { redactStoreUrl } from '../../cluster/node-store.js';

export const initCmd: Command = async (c) => {
  const dir = c.data ?? defaultDataDir(c.env);
  const r = await initDataDir(dir, c.env, { ifMissing: c.flags.bool('if-missing'), configFile: c.flags.opt('config'), store: c.flags.opt('store') });
  if (!r.created) {
    c.out.write(`${r.dataDir} is already initialized\n`);
    return 0;
  }
  const p = dataPaths(dir);
  if (r.store !== undefined) {
    c.out.write([
      r.joined ? `initialized ${r.dataDir}: joined the cluster on ${r.store}` : `initialized ${r.dataDir}: the first node of a new cluster on ${r.store}`,
      `  CA cert:      ${r.dataDir}/certs/ca.crt   (the cluster's: the same on every node)`,
      `  SSH host key: ${p.hostKey}   (the cluster's: the same on every node)`,
      `  admin token:  ${p.adminToken}   (this node's, for the cluster's admin user; mode 0600)`,
      r.joined ? '' : `  master key:   copy ${r.dataDir}/master.key into each other node's data dir before its init (or set PORTCULLIS_MASTER_KEY)`,
      `next: portcullis serve --data ${dir} --store URL --node NAME`,
      '',
    ].filter((line, i, all) => line !== '' || i === all.length - 1).join('\n'));
    return 0;
  }
  c.out.write([
    `initialized ${r.dataDir}`,
    `  store:        ${p.store}`,
    `  CA cert:      ${r.dataDir}/certs/ca.crt   (give this to clients that verify the gateway)`,
    `  SSH host key: ${p.hostKey}`,
    `  admin token:  ${p.adminToken}   (mode 0600; the CLI uses it with --data)`,
    `next: portcullis serve --data ${dir}`,
    '',
  ].join('\n'));
  return 0;
};

export const serveCmd: Command = async (c) => {
  const dir = c.data ?? defaultDataDir(c.env);
  const config = loadConfig({
    data: dir, file: c.flags.opt('config'), env: c.env,
    flags: { listen: c.flags.opt('listen'), 'http-port': c.flags.opt('http-port'), 'ssh-port': c.flags.opt('ssh-port'), 'postgres-port': c.flags.opt('postgres-port'), 'mysql-port': c.flags.opt('mysql-port'),
      store: c.flags.opt('store'), node: c.flags.opt('node') },
  });
  if (c.flags.bool('print-config')) {
    // Webhook URLs and the store URL carry secrets (a path token, a password): never printed whole.
    const shown = (k: string, v: unknown): unknown => {
      if (k === 'url' && typeof v === 'string') return v.replace(/\/\/([^/]+)\/.*/, '//$1/…');
      if (k === 'store' && typeof v === 'string') return redactStoreUrl(v);
      return v;
    };
    c.out.write(JSON.stringify(config, shown, 2) + '\n');
    return 0;
  }
  // A person at a terminal reads lines; anything else (a pipe, a collector) gets JSON lines.
  const tty = process.stdout.isTTY === true && c.env.PORTCULLIS_LOG_FORMAT !== 'json';
  const log = createLogger(config.log.level, tty ? humanDestination(process.stdout) : undefined);
  // The link and the banner before serve.json: whoever waits for that file finds both settled.
  const running = await startGateway(config, c.env, log, async (up) => {
    const setup = await up.app.setup.start();
    const link = setup && { url: `${up.app.addresses.url}/setup/${setup.token}`, expiresAt: setup.expiresAt, file: join(up.app.paths.root, SETUP_LINK_FILE) };
    // Off a terminal, stdout is a log collector's: the link (which makes the first admin) goes to a
    // file only the gateway's user can read, and the log line says where. A stale one goes.
    rmSync(join(up.app.paths.root, SETUP_LINK_FILE), { force: true });
    if (link && !tty) writeFileSync(link.file, link.url + '\n', { mode: 0o600 });
    c.out.write(startBanner(up.url, up.ports, link, tty));
  });
  await new Promise<void>((resolve) => {
    const onSignal = (): void => { void running.stop().then(resolve); };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
};

/**
 * What `serve` prints once it listens: the console's address, each listener, and, while no human
 * admin exists, the one-time setup link: on a terminal the link itself, otherwise the file that
 * holds it (setup-link.txt, 0600, in the data dir). Written straight to stdout, never through the
 * logger: the link's token is a credential and the log (and its collector) must never hold it.
 */
export const SETUP_LINK_FILE = 'setup-link.txt';

export function startBanner(url: string, ports: Record<string, number>, setup: { url: string; expiresAt: number; file: string } | null, tty: boolean): string {
  if (!tty) {
    const at = new Date().toISOString();
    const lines: Array<Record<string, unknown>> = [{ level: 30, time: at, app: 'portcullis', msg: 'serve.console', url: `${url}/`, ports }];
    if (setup) lines.push({ level: 30, time: at, app: 'portcullis', msg: 'serve.setup_link', file: setup.file, expires_at: new Date(setup.expiresAt).toISOString() });
    return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
  }
  const host = new URL(url).hostname;
  const out = ['', 'Portcullis is running.', '', `  console    ${url}/`];
  for (const [name, port] of Object.entries(ports)) if (name !== 'https') out.push(`  ${name.padEnd(10)} ${host}:${port}`);
  if (setup) {
    out.push('', 'First run: there is no admin account to sign in with yet. Open this link within the hour to create one', '(it works once; a restart makes a new one):', '', `  ${setup.url}`);
  }
  return out.join('\n') + '\n\n';
}
