// The built CLI's main() run inside the test process, for files that make dozens of CLI calls.
// A spawned `portcullis` spends ~1 s of CPU loading every command module before it parses argv;
// main() takes its output, environment and stdin as arguments, so the same argv parsing,
// wording and exit codes are checked here for milliseconds. What only the process adds (the
// bin wrapper, the real exit status) stays covered by a few spawned calls in each such file.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { BIN, type CliResult, type GatewayPeer } from './gateway.js';

// main()'s signature (gateway/cli/main.ts), written out: nothing imports gateway/cli (DESIGN.md 5).
type CliMain = (argv: string[], io: {
  out: { write(text: string): void; error(text: string): void };
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
}) => Promise<number>;

let loaded: Promise<CliMain> | null = null;

// dist/, like the spawned binary: the code under test is what `npm run build` made.
function cliMain(): Promise<CliMain> {
  const file = join(dirname(BIN), '../dist/gateway/cli/main.js');
  if (!existsSync(file)) throw new Error('dist/ is missing: run "npm run build" first (npm test does)');
  loaded ??= (import(pathToFileURL(file).href) as Promise<{ main: CliMain }>).then((m) => m.main);
  return loaded;
}

export async function cliIn(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<CliResult> {
  const main = await cliMain();
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    out: { write: (t) => { stdout += t; }, error: (t) => { stderr += t; } },
    env: { ...process.env, ...opts.env },
    stdin: Readable.from([opts.stdin ?? '']),
  });
  return { code, stdout, stderr };
}

// The homes startGateway gives the admin and each user (a sibling of the data dir).
function home(gw: Pick<GatewayPeer, 'dataDir'>, who: string): string {
  return join(dirname(gw.dataDir), 'homes', who);
}

/** gw.admin(args) in process (a startGateway peer). */
export function adminIn(gw: Pick<GatewayPeer, 'dataDir'>, args: string[], stdin?: string): Promise<CliResult> {
  return cliIn([...args, '--data', gw.dataDir], { env: { PORTCULLIS_HOME: home(gw, '_admin'), PORTCULLIS_DATA: '' }, stdin });
}

/** gw.as(user, args) in process: the user's stored login from gw.login or loginIn. */
export function asIn(gw: Pick<GatewayPeer, 'dataDir'>, user: string, args: string[], stdin?: string): Promise<CliResult> {
  return cliIn(args, { env: { PORTCULLIS_HOME: home(gw, user), PORTCULLIS_DATA: gw.dataDir }, stdin });
}

export function loginIn(gw: Pick<GatewayPeer, 'dataDir'>, user: string, password: string): Promise<CliResult> {
  return asIn(gw, user, ['login', '--user', user, '--password-stdin'], `${password}\n\n`);
}

/** gw.admin(args) as a spawned process that does not block the test: several run at once. */
export function adminSpawned(gw: Pick<GatewayPeer, 'dataDir'>, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PORTCULLIS_HOME: home(gw, '_admin'), PORTCULLIS_DATA: '' };
    const child = spawn(process.execPath, [BIN, ...args, '--data', gw.dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
