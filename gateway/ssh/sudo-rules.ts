// The privilege boundary of the SSH provisioner: every root command it runs, as the exact argv it
// passes to `sudo -n`, and the sudoers lines that allow those argvs and nothing else (sudo 1.9.10+
// matches command arguments against anchored regular expressions). The lines and the builders live
// side by side so the README, the e2e test's sudoers file and the commands cannot drift apart.
// Every word that goes into an argv is checked here against the same pattern the sudoers line has.
import { isEphemeralAccountName, ProvisionError } from '../provision/provisioner.js';

export const BIN = {
  useradd: '/usr/sbin/useradd',
  usermod: '/usr/sbin/usermod',
  userdel: '/usr/sbin/userdel',
  install: '/usr/bin/install',
  pkill: '/usr/bin/pkill',
  cat: '/usr/bin/cat',
  passwd: '/usr/bin/passwd',
  stat: '/usr/bin/stat',
} as const;

/** Unix group names a level may list (the shadow suite's own rule, without the trailing "$"). */
export const GROUP_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Grant ids as the store makes them (newId: prefix, "_", base64url), which go into the account's comment. */
export const GRANT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** sudoers.d files sudo reads: it skips names with a dot or ending in "~"; we read only these. */
export const SUDOERS_D_FILE_RE = /^[A-Za-z0-9_-]+$/;
/** Home paths we ask about (discovery); others (spaces, odd characters) are skipped, not quoted into sudo. */
export const SAFE_PATH_RE = /^\/[A-Za-z0-9_./-]+$/;
/** Ephemeral users' homes: where the sudoers lines let the key go. useradd's default HOME=/home. */
export const ephemeralHome = (account: string): string => `/home/${account}`;

export const STAT_FORMAT = '%s@%n';

function checkAccount(account: string): string {
  if (!isEphemeralAccountName(account)) throw new ProvisionError('refused', `${JSON.stringify(account.slice(0, 40))} is not an ephemeral account name (pcx_ and 12 base32 characters)`);
  return account;
}

export function checkGroup(group: string): string {
  if (!GROUP_RE.test(group)) throw new ProvisionError('no-such-level-grant', `${JSON.stringify(group.slice(0, 40))} is not a valid Unix group name`);
  return group;
}

const sudo = (...argv: string[]): string[] => ['sudo', '-n', ...argv];

/** "YYYY-MM-DD" of the UTC day after `epochMs`: the account expires at the start of a day, so never before the grant's end. */
export function expiryDay(epochMs: number): string {
  return new Date(epochMs + 86_400_000).toISOString().slice(0, 10);
}

export const cmd = {
  useradd(account: string, grantId: string, groups: readonly string[], expireDay: string | null): string[] {
    if (!GRANT_ID_RE.test(grantId)) throw new ProvisionError('protocol', 'the grant id has characters an account comment may not carry');
    if (expireDay !== null && !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(expireDay)) throw new ProvisionError('protocol', 'bad expiry date');
    // --password '*': no password can match, yet the account is not "locked" ("!"), which sshd without
    // PAM would refuse even for a key. '*' is not a secret.
    return sudo(BIN.useradd, '--create-home', '--shell', '/bin/bash', '--password', '*', '--comment', `portcullis-ephemeral grant ${grantId}`,
      ...(groups.length > 0 ? ['--groups', groups.map(checkGroup).join(',')] : []),
      ...(expireDay !== null ? ['--expiredate', expireDay] : []), checkAccount(account));
  },
  sshDir: (account: string): string[] =>
    sudo(BIN.install, '-d', '-m', '0700', '-o', checkAccount(account), '-g', account, `${ephemeralHome(account)}/.ssh`),
  /** The public key comes on stdin. */
  authorizedKey: (account: string): string[] =>
    sudo(BIN.install, '-m', '0600', '-o', checkAccount(account), '-g', account, '/dev/stdin', `${ephemeralHome(account)}/.ssh/authorized_keys`),
  /** Locks the password and expires the account (day 1 of 1970): sshd lets nobody in as it any more. */
  lock: (account: string): string[] => sudo(BIN.usermod, '-L', '-e', '1', checkAccount(account)),
  kill: (account: string): string[] => sudo(BIN.pkill, '-KILL', '-u', checkAccount(account)),
  userdel: (account: string, keepHome: boolean): string[] => sudo(BIN.userdel, ...(keepHome ? [] : ['--remove']), checkAccount(account)),
  /** Discovery: /etc/sudoers and the files of /etc/sudoers.d (names checked). */
  catSudoers(files: readonly string[]): string[] {
    for (const f of files) if (!SUDOERS_D_FILE_RE.test(f)) throw new ProvisionError('protocol', 'bad sudoers.d file name');
    return sudo(BIN.cat, '/etc/sudoers', ...files.map((f) => `/etc/sudoers.d/${f}`));
  },
  /** Discovery: each account's password state (P/NP/L), never the hashes. */
  passwdStatus: (): string[] => sudo(BIN.passwd, '-S', '-a'),
  /** Discovery: sizes of authorized_keys files in homes the provisioner may not read. */
  statKeys(homes: readonly string[]): string[] {
    for (const h of homes) if (!SAFE_PATH_RE.test(h)) throw new ProvisionError('protocol', 'bad home path');
    return sudo(BIN.stat, '-c', STAT_FORMAT, ...homes.map((h) => `${h.replace(/\/+$/, '')}/.ssh/authorized_keys`));
  },
};

const PCX = 'pcx_[a-z2-7]{12}';

/**
 * The sudoers lines a provisioner account needs, for the Unix groups its target's levels name
 * (each allowed group is listed: the provisioner cannot put a user in any other group, sudo or
 * root included). `discovery`: also the read-only rights discover() uses.
 */
export function sudoersLines(provisioner: string, groups: readonly string[], discovery = true): string[] {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(provisioner)) throw new Error('bad provisioner user name');
  const g = [...new Set(groups.map(checkGroup))].join('|');
  const groupsPart = g === '' ? '' : `( --groups (${g})(\\,(${g}))*)?`;
  const p = `${provisioner} ALL=(root) NOPASSWD:`;
  return [
    `${p} ${BIN.useradd} ^--create-home --shell /bin/bash --password [*] --comment portcullis-ephemeral grant [A-Za-z0-9_-]{1,64}${groupsPart}( --expiredate [0-9]{4}-[0-9]{2}-[0-9]{2})? ${PCX}$`,
    `${p} ${BIN.install} ^-d -m 0700 -o ${PCX} -g ${PCX} /home/${PCX}/[.]ssh$`,
    `${p} ${BIN.install} ^-m 0600 -o ${PCX} -g ${PCX} /dev/stdin /home/${PCX}/[.]ssh/authorized_keys$`,
    `${p} ${BIN.usermod} ^-L -e 1 ${PCX}$`,
    `${p} ${BIN.pkill} ^-KILL -u ${PCX}$`,
    `${p} ${BIN.userdel} ^(--remove )?${PCX}$`,
    ...(discovery ? [
      `${p} ${BIN.cat} ^/etc/sudoers( /etc/sudoers[.]d/[A-Za-z0-9_-]+)*$`,
      `${p} ${BIN.passwd} -S -a`,
      `${p} ${BIN.stat} ^-c %s@%n( /[A-Za-z0-9_./-]+/[.]ssh/authorized_keys)+$`,
    ] : []),
  ];
}
