// Reading a Linux host's account databases into discovery's words (provision/provisioner.ts:
// "uid-0", "sudo", "sudo-group:<g>", "authorized-keys", "password"). Pure parsing of what the
// provisioner printed (getent, sudoers text, `passwd -S -a`, stat); the commands are ssh/provisioner.ts's.
import type { PrivilegedAccount } from '../provision/provisioner.js';

export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

/** Groups whose members may use sudo on the usual distributions (Debian sudo, RHEL wheel, old Ubuntu admin). */
export const SUDO_GROUPS = ['sudo', 'wheel', 'admin'];

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 7 || !f[0]) return [];
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) return [];
    return [{ name: f[0], uid, gid, home: f[5] ?? '' }];
  });
}

export function parseGroups(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 4 || !f[0]) return [];
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) return [];
    return [{ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) }];
  });
}

/**
 * Who sudoers names, as users and groups ("%g"). User_Alias names are expanded; "ALL" as a user
 * means every account (reported for each, which is what it grants). Defaults, other aliases,
 * includes and comments carry no user. Negations ("!user") are not granted and are skipped.
 */
export function parseSudoersPrincipals(text: string): { users: Set<string>; groups: Set<string>; all: boolean } {
  const joined = text.replace(/\\\n/g, ' ');
  const aliases = new Map<string, string[]>();
  const specs: string[][] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.replace(/(^|\s)#(?!include|[0-9]).*$/, '').trim();
    if (line === '' || /^(Defaults|Host_Alias|Cmnd_Alias|Cmd_Alias|Runas_Alias|[@#]include)/.test(line)) continue;
    const alias = /^User_Alias\s+(.*)$/.exec(line);
    if (alias) {
      for (const def of alias[1]!.split(':')) {
        const m = /^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*)$/.exec(def);
        if (m) aliases.set(m[1]!, m[2]!.split(',').map((s) => s.trim()).filter(Boolean));
      }
      continue;
    }
    // A user spec: a comma-separated user list, then whitespace and host=... (spaces after commas allowed).
    const m = /^((?:[^\s,]+\s*,\s*)*[^\s,]+)\s+\S/.exec(line);
    if (m) specs.push(m[1]!.split(',').map((s) => s.trim()));
  }
  const users = new Set<string>();
  const groups = new Set<string>();
  let all = false;
  const add = (item: string, depth: number): void => {
    if (item.startsWith('!') || depth > 8) return;
    const unquoted = item.replace(/^"(.*)"$/, '$1');
    if (unquoted === 'ALL') all = true;
    else if (aliases.has(unquoted)) for (const a of aliases.get(unquoted)!) add(a, depth + 1);
    else if (unquoted.startsWith('%:') || unquoted.startsWith('+')) return; // non-Unix groups, netgroups: not resolvable here
    else if (unquoted.startsWith('%')) groups.add(unquoted.slice(1));
    else if (!unquoted.startsWith('#')) users.add(unquoted);
  };
  for (const spec of specs) for (const item of spec) add(item, 0);
  return { users, groups, all };
}

/** `passwd -S -a`: accounts with a usable (P) or empty (NP) password; locked (L) ones are not. */
export function parsePasswdStatus(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const [name, state] = line.trim().split(/\s+/);
    if (name && (state === 'P' || state === 'NP')) out.add(name);
  }
  return out;
}

/** `stat -c %s@%n` lines: the homes whose .ssh/authorized_keys is not empty. */
export function parseKeyStats(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9]+)@(.*)\/\.ssh\/authorized_keys$/.exec(line.trim());
    if (m && Number(m[1]) > 0) out.add(m[2]!);
  }
  return out;
}

export interface DiscoveryInputs {
  passwd: PasswdEntry[];
  groups: GroupEntry[];
  /** null: sudoers could not be read (no right); group membership is still reported. */
  sudoers: string | null;
  /** Homes (as in passwd) with a non-empty authorized_keys; null when unknown. */
  keyHomes: Set<string> | null;
  /** Accounts with a usable password; null when unknown. */
  passwords: Set<string> | null;
}

export function classify(inp: DiscoveryInputs): PrivilegedAccount[] {
  const priv = new Map<string, Set<string>>();
  const mark = (account: string, what: string): void => {
    if (!priv.has(account)) priv.set(account, new Set());
    priv.get(account)!.add(what);
  };
  const byGroup = new Map(inp.groups.map((g) => [g.name, g]));
  const membersOf = (group: string): string[] => {
    const g = byGroup.get(group);
    if (!g) return [];
    return [...new Set([...g.members, ...inp.passwd.filter((p) => p.gid === g.gid).map((p) => p.name)])];
  };
  const sudoers = inp.sudoers === null ? null : parseSudoersPrincipals(inp.sudoers);
  const sudoGroups = new Set([...SUDO_GROUPS.filter((g) => byGroup.has(g)), ...(sudoers?.groups ?? [])]);
  for (const p of inp.passwd) {
    if (p.uid === 0) mark(p.name, 'uid-0');
    if (sudoers && (sudoers.all || sudoers.users.has(p.name))) mark(p.name, 'sudo');
    if (inp.keyHomes?.has(p.home)) mark(p.name, 'authorized-keys');
    if (inp.passwords?.has(p.name)) mark(p.name, 'password');
  }
  for (const g of sudoGroups) for (const m of membersOf(g)) mark(m, `sudo-group:${g}`);
  return [...priv].map(([account, s]) => ({ account, privileges: [...s].sort() })).sort((a, b) => a.account.localeCompare(b.account));
}
