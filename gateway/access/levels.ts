// Access levels ("just enough"): how a target's levels are written (`--level NAME=SPEC`), what a
// valid list is, and which level a request, grant, link or connection means. A target lists its
// levels least privileged first; the first is the default wherever no level is named. Pure: no
// store, no clock. Whether a level's roles or groups exist on the target is the provisioner's check.
import { type AccessLevel, DEFAULT_LEVEL, type TargetKind, type TargetRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { checkName } from './names.js';

export const MAX_LEVELS = 32;
export const MAX_LEVEL_GRANTS = 32;

/** The one level of a target that declares none. */
export const defaultLevels = (): AccessLevel[] => [{ name: DEFAULT_LEVEL, grants: [] }];

/** Whether the levels are exactly the implicit `[default: no grants]` (what old targets have). */
export function isDefaultLevels(levels: readonly AccessLevel[]): boolean {
  return levels.length === 1 && levels[0]!.name === DEFAULT_LEVEL && levels[0]!.grants.length === 0;
}

/**
 * `read=pc_read`, `write=pc_read,pc_write`, `user=` (no grants). Shape only: names are checked by
 * checkLevels with the target's kind in hand.
 */
export function parseLevelSpec(text: string): AccessLevel {
  const eq = text.indexOf('=');
  if (eq < 0) throw new PortcullisError('bad-request', `level "${text.slice(0, 80)}" must be written NAME=SPEC (e.g. read=pc_read, or user= for no grants)`);
  const grants = text.slice(eq + 1).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return { name: text.slice(0, eq).trim(), grants };
}

// Database role names: letters, digits, `_`, `-`, `.`, `$`. Quoting on the target makes any name
// safe to send; the narrow alphabet keeps them readable in audit entries and errors as well.
const DB_GRANT = /^[A-Za-z_][A-Za-z0-9_.$-]{0,62}$/;
// Linux group names (shadow-utils' default NAME_REGEX, at most 32 characters).
const UNIX_GROUP = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * What a target's levels must satisfy: 1 to 32 levels with unique checkName names, each with at
 * most 32 grants that are safe role names (databases) or Linux group names (ssh), no duplicates.
 */
export function checkLevels(kind: TargetKind, levels: readonly AccessLevel[]): void {
  if (levels.length === 0) throw new PortcullisError('bad-request', 'a target needs at least one level (no --level gives one named "default")');
  if (levels.length > MAX_LEVELS) throw new PortcullisError('bad-request', `a target has at most ${MAX_LEVELS} levels`);
  const seen = new Set<string>();
  for (const l of levels) {
    checkName('level', l.name);
    if (seen.has(l.name)) throw new PortcullisError('bad-request', `level "${l.name}" is given twice; level names are unique on a target`);
    seen.add(l.name);
    if (l.grants.length > MAX_LEVEL_GRANTS) throw new PortcullisError('bad-request', `level "${l.name}" has more than ${MAX_LEVEL_GRANTS} ${grantWord(kind)}s`);
    const re = kind === 'ssh' ? UNIX_GROUP : DB_GRANT;
    for (const g of l.grants) {
      if (!re.test(g)) {
        throw new PortcullisError('bad-request', kind === 'ssh'
          ? `level "${l.name}": "${g.slice(0, 80)}" is not a Linux group name (lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32)`
          : `level "${l.name}": "${g.slice(0, 80)}" is not a valid role name (letters, digits, "_", "-", ".", "$", starting with a letter or "_", at most 63)`);
      }
    }
    if (new Set(l.grants).size !== l.grants.length) throw new PortcullisError('bad-request', `level "${l.name}" names a ${grantWord(kind)} twice`);
  }
}

/** A database role name as levels and --ephemeral-reassign-to accept it. */
export const isDbRoleName = (s: string): boolean => DB_GRANT.test(s);

const grantWord = (kind: TargetKind): string => (kind === 'ssh' ? 'group' : 'role');

/** Levels as written on the command line and in listings: `read=pc_read write=pc_read,pc_write`. */
export function formatLevels(levels: readonly AccessLevel[]): string {
  return levels.map((l) => `${l.name}=${l.grants.join(',')}`).join(' ');
}

/** The target's level names, for messages: `read, write`. */
export const levelNames = (t: TargetRecord): string => t.levels.map((l) => l.name).join(', ');

/**
 * The level a request, grant or link on this target is for: the one named, or the target's first
 * (least privileged). An unknown name is refused listing the target's levels.
 */
export function resolveLevel(t: TargetRecord, name: string | undefined | null): string {
  if (name === undefined || name === null || name === '') return t.levels[0]?.name ?? DEFAULT_LEVEL;
  if (!t.levels.some((l) => l.name === name)) {
    throw new PortcullisError('bad-request', `${t.name} has no level "${name.slice(0, 80)}"; its levels are: ${levelNames(t)}`);
  }
  return name;
}

/** Position of a level on its target, least privileged first; levels not (or no longer) on the target sort last. */
export function levelRank(t: TargetRecord, name: string): number {
  const i = t.levels.findIndex((l) => l.name === name);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}
