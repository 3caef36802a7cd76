// Every flag each command and subcommand accepts, checked against argv BEFORE the command runs:
// a misspelt security setting (`target add ... --credental ephemeral`) must stop the command, not
// be ignored while it makes a static target. Written as one small language per entry:
//   `name`    a boolean flag (`--name`; `--name=value` is refused)
//   `name=`   takes one value (`--name V` or `--name=V`; given twice is refused)
//   `name=*`  takes a value and may be repeated (lists: `--role a --role b`)
// test/unit/cli-flag-specs.test.ts scans gateway/cli/commands/*.ts for every flag the code reads
// and checks it is declared here, so this table cannot drift from the code.

export type FlagKind = 'bool' | 'value' | 'list';

export interface CommandSpec {
  /** What follows the command words in the usage line (positionals), e.g. `NAME`. */
  args: string;
  flags: ReadonlyMap<string, FlagKind>;
}

/** Accepted by every command. */
export const GLOBAL_FLAGS = 'data= config= json help';

function spec(args: string, flags: string): CommandSpec {
  const m = new Map<string, FlagKind>();
  for (const word of `${flags} ${GLOBAL_FLAGS}`.split(/\s+/).filter(Boolean)) {
    if (word.endsWith('=*')) m.set(word.slice(0, -2), 'list');
    else if (word.endsWith('=')) m.set(word.slice(0, -1), 'value');
    else m.set(word, 'bool');
  }
  return { args, flags: m };
}

const TARGET_COMMON = 'kind= host= port= account= host-key= database= tls= tls-ca= tls-fingerprint= allow-weak-upstream-auth ' +
  'mysql-rsa-key= mysql-rsa-fingerprint= tag=* password-stdin key-file= credential= level=* rotate= ephemeral-reassign-to= keep-home';
const POLICY = 'roles=* targets=* tags=* max= approvals= approver-roles=* ticket-pattern= no-reason auto-approve auto-approve-roles=* ' +
  'auto-approve-window= on-call=* breakglass no-record-keystrokes allow-port-forwarding full-capture recording-optional allow-links levels=* ' +
  // issue 18 (tickets part): the access window and the ticket check.
  'window= ticket-check=';

/** Keyed by the command, or `command subcommand` for commands that have subcommands. */
export const COMMAND_SPECS: Readonly<Record<string, CommandSpec>> = {
  init: spec('', 'if-missing store='),
  serve: spec('', 'listen= http-port= ssh-port= postgres-port= mysql-port= store= node= print-config'),
  'user add': spec('NAME', 'role=* password-stdin ssh-key=* service mysql-native-password'),
  'user list': spec('', ''),
  'user update': spec('NAME', 'mysql-native-password no-mysql-native-password'),
  'user remove': spec('NAME', ''),
  'user passwd': spec('NAME', 'password-stdin'),
  'user totp': spec('NAME', 'remove'),
  'user ssh-key': spec('NAME FILE.pub', ''),
  'user disable': spec('NAME', ''),
  'user enable': spec('NAME', ''),
  'user token': spec('NAME', 'ttl= label='),
  'target add': spec('NAME', TARGET_COMMON),
  'target update': spec('NAME', `${TARGET_COMMON} refuse-weak-upstream-auth no-tags remove-home`),
  'target show': spec('NAME', ''),
  'target list': spec('', ''),
  'target remove': spec('NAME', 'force'),
  'target test': spec('NAME', ''),
  'target fetch-cert': spec('', 'kind= host= port= tls-ca='),
  'target rotate': spec('NAME', ''),
  'policy add': spec('NAME', POLICY),
  'policy replace': spec('NAME', POLICY),
  'policy list': spec('', ''),
  'policy remove': spec('NAME', ''),
  request: spec('TARGET', 'for= reason= ticket= level='),
  requests: spec('', 'pending'),
  'requests approve': spec('ID', ''),
  'requests deny': spec('ID', 'reason='),
  approve: spec('ID', ''),
  deny: spec('ID', 'reason='),
  'grant add': spec('', 'user= target= for= reason= ticket= level='),
  'grant list': spec('', 'active'),
  'grant revoke': spec('ID', 'reason='),
  'grant extend': spec('ID', 'by='),
  'grant review': spec('ID', 'accept deny reason='),
  breakglass: spec('TARGET', 'reason= for= level='),
  'db-password': spec('TARGET', 'level='),
  'audit list': spec('', 'after= limit='),
  'audit verify': spec('', 'checkpoints='),
  'audit export': spec('', ''),
  'session list': spec('', 'live flagged min-score= order='),
  'session show': spec('ID', 'full channel='),
  'session kill': spec('ID', ''),
  'session reveal': spec('ID', 'at= span= channel= reason='),
  play: spec('ID', 'speed= skip-idle channel='),
  export: spec('ID', 'channel='),
  'vault rotate-key': spec('', 'keep-old'),
  // issue 18 (handoff part): --sso signs in through the browser; --no-browser prints the link instead.
  login: spec('', 'server= user= ca= password-stdin totp= sso no-browser'),
  logout: spec('', ''),
  whoami: spec('', ''),
  passwd: spec('', 'password-stdin'),
  'link create': spec('TARGET', 'ttl= uses= label= session-max= level='),
  'link list': spec('', ''),
  'link approve': spec('ID', ''),
  'link revoke': spec('ID', ''),
  'ephemeral list': spec('', 'target= limit='),
  discover: spec('TARGET', 'stored'),
  'node list': spec('', ''),
  'rule add': spec('NAME', 'kind= class= match= action= targets=* roles=* levels=* message= unparsable='),
  'rule list': spec('', ''),
  'rule remove': spec('NAME', ''),
  // issue 18 (sshcert part): the Host block for plain OpenSSH.
  'ssh-config': spec('', 'alias= server='),
};

/** The spec for `cmd [sub]`: the subcommand's when it has one, else the command's; for a command with subcommands but an unknown one, every flag of its subcommands (the command itself then says which subcommands exist). */
export function specFor(cmd: string, sub: string | undefined): { key: string; spec: CommandSpec } | undefined {
  if (sub !== undefined && COMMAND_SPECS[`${cmd} ${sub}`]) return { key: `${cmd} ${sub}`, spec: COMMAND_SPECS[`${cmd} ${sub}`]! };
  if (COMMAND_SPECS[cmd]) return { key: cmd, spec: COMMAND_SPECS[cmd] };
  const subs = Object.entries(COMMAND_SPECS).filter(([k]) => k.startsWith(`${cmd} `));
  if (subs.length === 0) return undefined;
  const flags = new Map<string, FlagKind>();
  for (const [, s] of subs) for (const [n, k] of s.flags) flags.set(n, k);
  return { key: cmd, spec: { args: `${subs.map(([k]) => k.slice(cmd.length + 1)).join('|')} ...`, flags } };
}

/** The subcommands a command has in the table ([] when it has none). */
export function subcommandsOf(cmd: string): string[] {
  return Object.keys(COMMAND_SPECS).filter((k) => k.startsWith(`${cmd} `)).map((k) => k.slice(cmd.length + 1));
}

/** `portcullis target add NAME [--kind V] [--tag V]... [--password-stdin]`, built from the table. */
export function usageLine(key: string, s: CommandSpec): string {
  const globals = new Set(spec('', '').flags.keys());
  const parts = [...s.flags].filter(([n]) => !globals.has(n)).map(([n, k]) => (k === 'bool' ? `[--${n}]` : k === 'value' ? `[--${n} V]` : `[--${n} V]...`));
  return ['portcullis', key, s.args, ...parts].filter(Boolean).join(' ');
}

/** Every boolean flag in the table: a flag is boolean everywhere or nowhere (the unit test checks), so argv can be split before the command is known. */
export const ALL_BOOLEAN_FLAGS: ReadonlySet<string> = new Set(
  Object.values(COMMAND_SPECS).flatMap((s) => [...s.flags].filter(([, k]) => k === 'bool').map(([n]) => n)),
);

/** The closest declared flag within two edits, for "did you mean". */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) { best = c; bestD = d; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
