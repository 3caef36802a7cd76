// The grant menu shown when a user connects without naming a target and holds several SSH grants.
// The client's terminal is in raw mode, so this echoes what is typed and reads one line. A target
// held at several levels is listed once per level; the pick names both.
import type ssh2 from 'ssh2';
import type { GrantRecord, TargetRecord } from '../session/adapter.js';

const TIMEOUT_MS = 60_000;
const MAX_LINE = 16;

export function chooseTarget(ch: ssh2.ServerChannel, choices: Array<{ grant: GrantRecord; target: TargetRecord }>): Promise<{ target: string; level: string }> {
  return new Promise((resolve, reject) => {
    const lines = ['', 'Portcullis: you hold access to several servers. Pick one:', ''];
    choices.forEach((c, i) => {
      const mins = Math.max(1, Math.round((c.grant.expiresAt - Date.now()) / 60_000));
      const level = c.target.levels.length > 1 ? ` at level ${c.grant.level}` : '';
      lines.push(`  ${i + 1}) ${c.target.name}${level}  (${mins} min left; ${c.grant.reason})`);
    });
    lines.push('', 'Number: ');
    ch.write(lines.join('\r\n'));
    let line = '';
    const timer = setTimeout(() => done(new Error('no choice made in time')), TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      for (const ch8 of d.toString('utf8')) {
        if (ch8 === '\r' || ch8 === '\n') {
          const n = Number(line.trim());
          const pick = Number.isInteger(n) ? choices[n - 1] : undefined;
          if (pick) return done(null, { target: pick.target.name, level: pick.grant.level });
          line = '';
          ch.write(`\r\nPlease type a number from 1 to ${choices.length}: `);
        } else if (ch8 === '\x03' || ch8 === '\x04') {
          return done(new Error('cancelled'));
        } else if (ch8 === '\x7f' || ch8 === '\b') {
          if (line.length > 0) { line = line.slice(0, -1); ch.write('\b \b'); }
        } else if (line.length < MAX_LINE && ch8 >= ' ') {
          line += ch8;
          ch.write(ch8);
        }
      }
    };
    const done = (err: Error | null, target?: { target: string; level: string }): void => {
      clearTimeout(timer);
      ch.off('data', onData);
      ch.pause();
      ch.write('\r\n');
      if (err) reject(err);
      else resolve(target!);
    };
    ch.on('data', onData);
  });
}
