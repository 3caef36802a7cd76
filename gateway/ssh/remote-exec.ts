// Running one command on a target over an open ssh2 client, for the provisioner: the command line
// is built only from words checked against strict patterns and single-quoted for the remote shell;
// anything secret goes on stdin, never into the command line (it would show in `ps` and sudo's log).
// Output and time are bounded so a target that floods or hangs cannot hold the gateway.
import type ssh2 from 'ssh2';
import { ProvisionError } from '../provision/provisioner.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Bytes written to the command's stdin, then EOF. The caller wipes its own Buffer. */
  stdin?: Buffer;
  timeoutMs?: number;
  /** Cap on stdout (stderr is capped at 16 KiB); more is an error, not a silent cut. */
  maxStdout?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_STDOUT = 4 * 1024 * 1024;
const MAX_STDERR = 16 * 1024;

/** A word safe to put in single quotes for a POSIX shell (rejects NUL and newlines: no word we build has them). */
export function shellQuote(word: string): string {
  if (/[\0\n\r]/.test(word)) throw new ProvisionError('protocol', 'refusing to build a command with a control character in an argument');
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export const commandLine = (argv: readonly string[]): string => argv.map(shellQuote).join(' ');

export function execRemote(client: ssh2.Client, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const line = commandLine(argv);
  return new Promise((resolve, reject) => {
    let settled = false;
    let stdout = Buffer.alloc(0);
    let stderr = '';
    const maxStdout = opts.maxStdout ?? DEFAULT_MAX_STDOUT;
    const timer = setTimeout(() => fail(new ProvisionError('unreachable', `${argv[0] ?? 'command'} did not finish in time on the target`)), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    let channel: ssh2.ClientChannel | null = null;
    const fail = (e: ProvisionError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      channel?.close();
      reject(e);
    };
    const onChannel = (err: Error | undefined, ch: ssh2.ClientChannel): void => {
      if (err) return fail(new ProvisionError('protocol', `the target refused to run a command (${err.message})`));
      channel = ch;
      let code: number | null = null;
      ch.on('data', (d: Buffer) => {
        stdout = Buffer.concat([stdout, d]);
        if (stdout.length > maxStdout) fail(new ProvisionError('protocol', `${argv[0] ?? 'command'} printed more than ${maxStdout} bytes`));
      });
      ch.stderr.on('data', (d: Buffer) => { if (stderr.length < MAX_STDERR) stderr += d.toString('utf8'); });
      ch.on('exit', (c: number | null) => { code = c; });
      ch.on('close', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.slice(0, MAX_STDERR) });
      });
      if (opts.stdin) ch.write(opts.stdin);
      ch.end();
    };
    try {
      client.exec(line, onChannel);
    } catch {
      // ssh2 throws "Not connected" at once when the connection already went away.
      fail(new ProvisionError('unreachable', 'the connection to the target was lost'));
    }
  });
}

/** The first lines of stderr, trimmed, for an admin-facing message. Our commands never echo stdin, so it holds no secret. */
export function stderrSummary(stderr: string): string {
  const s = stderr.replace(/\s+/g, ' ').trim();
  return s.length > 300 ? s.slice(0, 300) + '…' : s;
}
