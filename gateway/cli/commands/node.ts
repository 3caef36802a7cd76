// init and serve: the two commands that run on the gateway host itself.
import { dataPaths, defaultDataDir } from '../../config/data-dir.js';
import { loadConfig } from '../../config/config.js';
import { createLogger } from '../../log/logger.js';
import { type Command } from '../command.js';
import { initDataDir } from '../init.js';
import { startGateway } from '../../compose/gateway.js';

export const initCmd: Command = async (c) => {
  const dir = c.data ?? defaultDataDir(c.env);
  const r = await initDataDir(dir, c.env, { ifMissing: c.flags.bool('if-missing'), configFile: c.flags.opt('config') });
  if (!r.created) {
    c.out.write(`${r.dataDir} is already initialized\n`);
    return 0;
  }
  const p = dataPaths(dir);
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
    flags: { listen: c.flags.opt('listen'), 'http-port': c.flags.opt('http-port'), 'ssh-port': c.flags.opt('ssh-port'), 'postgres-port': c.flags.opt('postgres-port'), 'mysql-port': c.flags.opt('mysql-port') },
  });
  if (c.flags.bool('print-config')) {
    c.out.write(JSON.stringify(config, (k, v: unknown) => (k === 'url' && typeof v === 'string' ? v.replace(/\/\/([^/]+)\/.*/, '//$1/…') : v), 2) + '\n');
    return 0;
  }
  const log = createLogger(config.log.level);
  const running = await startGateway(config, c.env, log);
  await new Promise<void>((resolve) => {
    const onSignal = (): void => { void running.stop().then(resolve); };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
};
