// The issue-15 flags of `target add` and `target update` (credential mode, levels, rotation, the
// ephemeral settings), and how targets' levels read in tables. The API validates; this only maps
// flags to body fields, sending each `--level NAME=SPEC` as written (order kept: least privileged first).
import type { TargetView } from '../../access/views.js';
import { usage } from '../command.js';
import type { CommandContext } from '../command.js';

export const TARGET_ZSP_FLAGS = '[--credential static|ephemeral] [--level NAME=SPEC]... [--rotate after-session|daily|off] ' +
  '[--ephemeral-reassign-to ROLE] [--keep-home]';

/** Body fields for the flags given; absent flags stay absent (add: defaults, update: unchanged). */
export function zspBody(c: CommandContext, update: boolean): Record<string, unknown> {
  const levels = c.flags.all('level');
  const reassign = c.flags.opt('ephemeral-reassign-to');
  const keep = c.flags.bool('keep-home');
  const remove = update && c.flags.bool('remove-home');
  if (keep && remove) usage('give one of --keep-home and --remove-home');
  return {
    credential: c.flags.opt('credential'),
    levels: levels.length > 0 ? levels : undefined,
    rotate: c.flags.opt('rotate'),
    // update: an empty value clears it (objects are then dropped with the account).
    ephemeral_reassign_to: reassign === undefined ? undefined : reassign === '' ? null : reassign,
    keep_home: keep ? true : remove ? false : undefined,
  };
}

/** `read=pc_read write=pc_read,pc_write` for a table cell. */
export const levelsCell = (levels: TargetView['levels']): string => levels.map((l) => `${l.name}=${l.grants.join(',')}`).join(' ');

/** A target as `target show` and table rows print it: levels as written on the command line. */
export function withLevelsText<T extends { levels: TargetView['levels'] }>(t: T): Omit<T, 'levels'> & { levels: string } {
  return { ...t, levels: levelsCell(t.levels) };
}
