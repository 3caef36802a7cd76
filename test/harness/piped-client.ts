// A real command-line client (psql, mariadb) kept running with its stdin as a pipe, so a test can
// type statements at its own pace, leave the session idle, and read what the client printed.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { waitFor } from './common.js';

export class PipedClient {
  private out = '';
  readonly exited: Promise<number>;
  private readonly child: ChildProcessWithoutNullStreams;

  /** `maxMs`: the client is killed after this long whatever happens (a test that hangs still ends). */
  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, maxMs = 60_000) {
    this.child = spawn(cmd, args, { env: { ...process.env, ...env } });
    this.child.stdout.on('data', (d: Buffer) => { this.out += d.toString(); });
    this.child.stderr.on('data', (d: Buffer) => { this.out += d.toString(); });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? -1)));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), maxMs);
    void this.exited.then(() => clearTimeout(timer));
  }

  /** Everything the client printed so far (stdout and stderr). */
  get output(): string {
    return this.out;
  }

  type(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  /** Drops what was printed so far (long-running clients). */
  clearOutput(): void {
    this.out = '';
  }

  /** Kills the client at once. */
  kill(): void {
    this.child.kill('SIGKILL');
  }

  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<void> {
    await waitFor(`client output to show ${re}`, () => re.test(this.out), timeoutMs).catch(() => {
      throw new Error(`client output never showed ${re}; it shows:\n${this.out}`);
    });
  }

  /** Ends stdin and waits for the client to exit; returns its status. */
  end(): Promise<number> {
    this.child.stdin.end();
    return this.exited;
  }
}
