// Changing an account's own password with `passwd`, run as that account in a pty (passwd reads
// from the terminal, not from a pipe): answer the current-password prompt with the old secret and
// the two new-password prompts with the new one. The secrets only ever go into the channel as
// keystrokes, with echo off (passwd turns it off), never into a command line; what passwd printed is
// only shown to the admin after every line that could hold a secret is dropped.
import type ssh2 from 'ssh2';
import { ProvisionError } from '../provision/provisioner.js';

const TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 64 * 1024;

/** Lines of passwd's output that are safe to show: none containing either secret. */
function safeTail(out: string, secrets: readonly Buffer[]): string {
  const lines = out.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !/password:\s*$/i.test(l));
  const safe = lines.filter((l) => secrets.every((s) => s.length === 0 || !l.includes(s.toString('utf8'))));
  return safe.slice(-3).join(' ').slice(0, 300);
}

export function changeOwnPassword(client: ssh2.Client, oldSecret: Buffer, next: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    let answered = 0;
    let channel: ssh2.ClientChannel | null = null;
    const finish = (err?: ProvisionError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      channel?.close();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new ProvisionError('protocol', `passwd did not finish in time${out ? `: ${safeTail(out, [oldSecret, next])}` : ''}`)), TIMEOUT_MS);
    // Two writes, no copy: the Buffers are the caller's, wiped by it once this settles.
    const answer = (secret: Buffer): void => {
      channel?.write(secret);
      channel?.write('\n');
    };
    const onChannel = (err: Error | undefined, ch: ssh2.ClientChannel): void => {
      if (err) return finish(new ProvisionError('protocol', `the target refused to run passwd (${err.message})`));
      channel = ch;
      let code: number | null = null;
      const onData = (d: Buffer): void => {
        out += d.toString('utf8');
        if (out.length > MAX_OUTPUT) return finish(new ProvisionError('protocol', 'passwd printed too much'));
        // Answer each prompt once, in passwd's order: current, new, retype.
        const before = out.split(/password:/i);
        const prompts = before.length - 1;
        // A fourth prompt is passwd asking again after refusing the new one (PAM's quality rules): say why, do not wait.
        if (prompts > 3) return finish(new ProvisionError('refused', `passwd refused the new password: ${safeTail(out, [oldSecret, next]) || 'no message'}`));
        while (answered < prompts && answered < 3) {
          if (answered === 0 && !/current|old/i.test(before[0]!.split('\n').pop() ?? '')) {
            // Asked for a new password first: passwd runs as root or the account has none; not a rotation.
            return finish(new ProvisionError('refused', 'passwd did not ask for the current password (the account is root or has none): not going on'));
          }
          answer(answered === 0 ? oldSecret : next);
          answered++;
        }
      };
      ch.on('data', onData);
      ch.stderr.on('data', onData);
      ch.on('exit', (c: number | null) => { code = c; });
      ch.on('close', () => {
        if (code === 0 && answered >= 3) return finish();
        finish(new ProvisionError('refused', `passwd failed${code !== null ? ` (exit ${code})` : ''}: ${safeTail(out, [oldSecret, next]) || 'no message'}`));
      });
    };
    try {
      client.exec('LC_ALL=C passwd', { pty: { term: 'dumb', rows: 24, cols: 200 } }, onChannel);
    } catch {
      finish(new ProvisionError('unreachable', 'the connection to the target was lost'));
    }
  });
}
