// The SSH provisioner: AdminSession (provision/provisioner.ts) for SSH targets. Logs in as the
// target's vaulted account (pinned host key, like a session), and runs commands with ssh2 exec:
// root work only through `sudo -n` and only the argvs sudo-rules.ts builds (which are what the
// documented sudoers lines allow); secrets and keys only on stdin. Ephemeral users get a key pair
// made here; their password stays locked. Decides nothing about when: provision/ does.
import ssh2 from 'ssh2';
import {
  type AdminLogin, type AdminSession, type CreatedAccount, type EphemeralAccountSpec, type PrivilegedAccount,
  isEphemeralAccountName, ProvisionError,
} from '../provision/provisioner.js';
import type { TargetRecord } from '../session/adapter.js';
import type { UpstreamCredential } from '../session/credentials.js';
import { newHostKeyPair } from './host-key.js';
import { classify, parseGroups, parseKeyStats, parsePasswd, parsePasswdStatus } from './linux-discovery.js';
import { changeOwnPassword } from './passwd-dialog.js';
import { type ExecOptions, type ExecResult, execRemote, stderrSummary } from './remote-exec.js';
import { BIN, checkGroup, cmd, ephemeralHome, expiryDay, GROUP_RE, SAFE_PATH_RE, SUDOERS_D_FILE_RE } from './sudo-rules.js';
import { connectUpstream, UpstreamError } from './upstream.js';

type Level = EphemeralAccountSpec['level'];

/** How long dropAccount keeps killing a user's processes before it gives up (a fork bomb outruns pkill once). */
const KILL_ROUNDS = 20;
const KILL_PAUSE_MS = 200;
/** Users per stat call in discovery (keeps the command line well under ARG_MAX). */
const STAT_CHUNK = 200;
const PROBE_ACCOUNT = 'pcx_aaaaaaaaaaaa';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * sudo's refusals (no rule, a rule that wants a password, no sudo at all): the provisioner lacks a
 * right. Not any "sudo: " line: sudo warns (e.g. "unable to resolve host") and still runs the command.
 */
const sudoRefused = (r: ExecResult): boolean =>
  r.code !== 0 && /is not allowed to execute|a password is required|may not run sudo|not in the sudoers file|must have a tty|sudo: (command )?not found/.test(r.stderr);

export class SshAdminSession implements AdminSession {
  /** The vaulted password, kept only for setOwnSecret (passwd asks for it); wiped on close. */
  constructor(private readonly client: ssh2.Client, private readonly targetName: string, private oldPassword: Buffer | null) {}

  private exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return execRemote(this.client, argv, opts);
  }

  /** Runs a command and requires exit 0; sudo's refusal names the missing right. */
  private async must(argv: readonly string[], what: string, opts?: ExecOptions): Promise<ExecResult> {
    const r = await this.exec(argv, opts);
    if (r.code === 0) return r;
    if (argv[0] === 'sudo' && sudoRefused(r)) throw new ProvisionError('missing-right', `sudo: ${argv[2] ?? '?'} not allowed for this argument list on ${this.targetName} (${what})`);
    throw new ProvisionError('refused', `${what} failed on ${this.targetName} (exit ${r.code ?? 'none'}): ${stderrSummary(r.stderr) || 'no message'}`);
  }

  private async userExists(account: string): Promise<boolean> {
    const r = await this.exec(['getent', 'passwd', account]);
    if (r.code === 0) return true;
    if (r.code === 2) return false;
    throw new ProvisionError('protocol', `getent passwd failed on ${this.targetName}: ${stderrSummary(r.stderr)}`);
  }

  private async missingGroups(groups: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const g of groups) {
      checkGroup(g);
      const r = await this.exec(['getent', 'group', g]);
      if (r.code !== 0) missing.push(g);
    }
    return missing;
  }

  async createAccount(spec: EphemeralAccountSpec): Promise<CreatedAccount> {
    const { account } = spec;
    if (!isEphemeralAccountName(account)) throw new ProvisionError('refused', 'not an ephemeral account name');
    if (!Number.isFinite(spec.validUntil)) throw new ProvisionError('protocol', 'the grant has no valid end');
    const groups = spec.level.grants;
    const missing = await this.missingGroups(groups);
    if (missing.length > 0) throw new ProvisionError('no-such-level-grant', `group ${missing.join(', ')} of level ${spec.level.name} does not exist on ${this.targetName}`);
    // A user of that name is a leftover of a crash between creating it and recording so: start over.
    if (await this.userExists(account)) await this.dropAccount(account, { reassignTo: null, keepHome: false });
    // ssh2 hands the private key back as a string, which cannot be wiped: it lives until collected.
    // The Buffer returned is the caller's to seal and wipe.
    const kp = newHostKeyPair();
    const pub = Buffer.from(kp.public.trim() + '\n');
    try {
      // Inside: useradd can fail half way (user made, home not) and that must not stay behind.
      await this.must(cmd.useradd(account, spec.grantId, groups, expiryDay(spec.validUntil)), `useradd ${account}`);
      const home = (await this.must(['getent', 'passwd', account], 'getent passwd')).stdout.split(':')[5];
      if (home !== ephemeralHome(account)) {
        throw new ProvisionError('refused', `useradd on ${this.targetName} made the home ${JSON.stringify(home)}, not ${ephemeralHome(account)} (HOME in /etc/default/useradd): the sudoers lines only cover /home`);
      }
      await this.must(cmd.sshDir(account), 'creating ~/.ssh');
      await this.must(cmd.authorizedKey(account), 'installing the authorized key', { stdin: pub });
    } catch (err) {
      // Leave nothing half made; the reconciler would drop it too, but not before the intent says so.
      await this.dropAccount(account, { reassignTo: null, keepHome: false }).catch(() => undefined);
      throw err;
    }
    return { kind: 'private-key', secret: Buffer.from(kp.private) };
  }

  async dropAccount(account: string, opts: { reassignTo: string | null; keepHome: boolean }): Promise<void> {
    if (!isEphemeralAccountName(account)) throw new ProvisionError('refused', `refusing to remove ${JSON.stringify(account.slice(0, 40))}: not an ephemeral account`);
    if (!(await this.userExists(account))) return;
    // No new logins first, then the processes, then the user: a login racing the kill finds it expired.
    await this.must(cmd.lock(account), `locking ${account}`);
    for (let round = 0; ; round++) {
      const k = await this.exec(cmd.kill(account));
      if (k.code !== 0 && k.code !== 1) {
        if (sudoRefused(k)) throw new ProvisionError('missing-right', `sudo: ${BIN.pkill} not allowed for this argument list on ${this.targetName} (killing ${account}'s processes)`);
        throw new ProvisionError('refused', `pkill failed on ${this.targetName}: ${stderrSummary(k.stderr)}`);
      }
      const left = await this.exec(['pgrep', '-u', account]);
      if (left.code === 1) break;
      if (round >= KILL_ROUNDS) throw new ProvisionError('refused', `${account} still has processes on ${this.targetName} after ${KILL_ROUNDS} kills`);
      await sleep(KILL_PAUSE_MS);
    }
    await this.must(cmd.userdel(account, opts.keepHome), `userdel ${account}`);
  }

  async checkProvisioner(levels: readonly Level[]): Promise<string[]> {
    const problems: string[] = [];
    const hasSudo = await this.exec(['sh', '-c', 'command -v sudo']);
    if (hasSudo.code !== 0) return ['sudo is not installed on the target'];
    const probe = async (argv: string[], words: string): Promise<void> => {
      // `sudo -n -l CMD ARGS`: whether the policy allows exactly this, without running it.
      const r = await this.exec(['sudo', '-n', '-l', ...argv.slice(2)]);
      if (r.code === 0) return;
      problems.push(/a password is required/.test(r.stderr) ? `sudo: ${words} needs a password (the sudoers line must say NOPASSWD)` : `sudo: ${words} not allowed`);
    };
    const groupsOk: string[] = [];
    for (const level of levels) {
      const bad = level.grants.filter((g) => !GROUP_RE.test(g));
      for (const g of bad) problems.push(`level ${level.name}: ${JSON.stringify(g.slice(0, 40))} is not a valid group name`);
      if (bad.length > 0) continue;
      const missing = await this.missingGroups(level.grants);
      for (const g of missing) problems.push(`group ${g} (level ${level.name}) does not exist`);
      groupsOk.push(...level.grants);
      await probe(cmd.useradd(PROBE_ACCOUNT, 'probe', level.grants, '2030-01-01'),
        `${BIN.useradd}${level.grants.length > 0 ? ` --groups ${level.grants.join(',')} (level ${level.name})` : ''}`);
    }
    if (levels.length === 0) await probe(cmd.useradd(PROBE_ACCOUNT, 'probe', [], '2030-01-01'), BIN.useradd);
    await probe(cmd.sshDir(PROBE_ACCOUNT), `${BIN.install} -d (the user's ~/.ssh)`);
    await probe(cmd.authorizedKey(PROBE_ACCOUNT), `${BIN.install} /dev/stdin (the user's authorized_keys)`);
    await probe(cmd.lock(PROBE_ACCOUNT), `${BIN.usermod} -L -e 1`);
    await probe(cmd.kill(PROBE_ACCOUNT), `${BIN.pkill} -KILL -u`);
    await probe(cmd.userdel(PROBE_ACCOUNT, false), `${BIN.userdel} --remove`);
    await probe(cmd.userdel(PROBE_ACCOUNT, true), BIN.userdel);
    return problems;
  }

  async discover(): Promise<PrivilegedAccount[]> {
    const passwd = parsePasswd((await this.must(['getent', 'passwd'], 'getent passwd')).stdout);
    const groups = parseGroups((await this.must(['getent', 'group'], 'getent group')).stdout);
    // Root-only facts through the read-only sudo rights; a right not granted leaves that fact unknown.
    const listing = await this.exec(['ls', '-1', '/etc/sudoers.d']);
    const files = listing.code === 0 ? listing.stdout.split('\n').filter((f) => SUDOERS_D_FILE_RE.test(f)) : [];
    const sudoersR = await this.exec(cmd.catSudoers(files));
    const sudoers = sudoersR.code === 0 ? sudoersR.stdout : null;
    const statusR = await this.exec(cmd.passwdStatus());
    const passwords = statusR.code === 0 ? parsePasswdStatus(statusR.stdout) : null;
    const homes = [...new Set(passwd.map((p) => p.home).filter((h) => SAFE_PATH_RE.test(h) && h !== '/'))];
    let keyHomes: Set<string> | null = new Set();
    for (let i = 0; i < homes.length && keyHomes; i += STAT_CHUNK) {
      const chunk = homes.slice(i, i + STAT_CHUNK);
      let r = await this.exec(cmd.statKeys(chunk));
      // No sudo right: what the account itself can see (homes readable by others).
      if (sudoRefused(r)) r = await this.exec(cmd.statKeys(chunk).slice(2));
      for (const h of parseKeyStats(r.stdout)) keyHomes.add(h);
      if (r.code !== 0 && r.stdout === '' && !/No such file|Permission denied/.test(r.stderr)) keyHomes = null;
    }
    return classify({ passwd, groups, sudoers, keyHomes, passwords });
  }

  async setOwnSecret(next: Buffer): Promise<void> {
    if (this.oldPassword) {
      await changeOwnPassword(this.client, this.oldPassword, next);
      this.oldPassword.fill(0);
      this.oldPassword = Buffer.from(next);
      return;
    }
    const pub = publicKeyLine(next);
    await this.must(['sh', '-c', APPEND_KEY], 'adding the new authorized key', { stdin: Buffer.from(pub + '\n') });
  }

  async retireOldKey(keep: string): Promise<void> {
    const blob = keyBlob(keep);
    if (blob === null) throw new ProvisionError('protocol', 'the key to keep is not an OpenSSH public key line');
    const current = (await this.must(['sh', '-c', 'cat "$HOME/.ssh/authorized_keys"'], 'reading authorized_keys')).stdout;
    const kept = current.split('\n').filter((l) => keyBlob(l) === blob);
    // Never lock the account out: the new key must be there before the others go.
    if (kept.length === 0) throw new ProvisionError('refused', `the new key is not among ${this.targetName}'s authorized keys; the old ones were left in place`);
    await this.must(['sh', '-c', REWRITE_KEYS], 'rewriting authorized_keys', { stdin: Buffer.from(kept.join('\n') + '\n') });
  }

  close(): Promise<void> {
    this.oldPassword?.fill(0);
    this.oldPassword = null;
    return new Promise((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
      setTimeout(resolve, 2_000).unref();
    });
  }
}

/** Appends stdin to the account's authorized_keys, after a newline if the file lacks a final one. Fixed text: nothing interpolated. */
const APPEND_KEY = 'umask 077; mkdir -p "$HOME/.ssh" && f="$HOME/.ssh/authorized_keys" && '
  + 'if [ -s "$f" ] && [ -n "$(tail -c1 "$f")" ]; then echo >> "$f"; fi && cat >> "$f"';
/** Replaces authorized_keys with stdin atomically (same directory, mode 0600, then rename). */
const REWRITE_KEYS = 'umask 077; f="$HOME/.ssh/authorized_keys" && t=$(mktemp "$f.XXXXXX") && cat > "$t" && chmod 600 "$t" && mv -f "$t" "$f"';

/** The "type base64" of an authorized_keys line (options and comment ignored), or null. */
export function keyBlob(line: string): string | null {
  const tokens = line.trim().split(/\s+/);
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)$/.test(tokens[i]!) && /^[A-Za-z0-9+/]+={0,2}$/.test(tokens[i + 1]!)) {
      return `${tokens[i]} ${tokens[i + 1]}`;
    }
  }
  return null;
}

/** The OpenSSH public key line of a private key, for authorized_keys. */
export function publicKeyLine(privateKey: Buffer): string {
  const key = ssh2.utils.parseKey(privateKey);
  if (key instanceof Error) throw new ProvisionError('protocol', 'the new key is not a private key ssh2 can read');
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}

function toProvisionError(err: unknown): ProvisionError {
  if (err instanceof ProvisionError) return err;
  if (err instanceof UpstreamError) return new ProvisionError(err.kind === 'unreachable' ? 'unreachable' : 'refused', err.message);
  return new ProvisionError('unreachable', 'could not log in to the target as its provisioner');
}

/** AdminLogin for SSH targets; `cred` is wiped by connectUpstream whatever happens. */
export const sshAdminLogin: AdminLogin = async (target: TargetRecord, cred: UpstreamCredential) => {
  // passwd asks the account for its current password: keep a copy of a password credential (wiped on close).
  const oldPassword = cred.kind === 'password' ? Buffer.from(cred.secret) : null;
  try {
    const client = await connectUpstream(target, cred);
    client.on('error', () => undefined); // a later socket error ends the session's commands, not the process
    return new SshAdminSession(client, target.name, oldPassword);
  } catch (err) {
    oldPassword?.fill(0);
    throw toProvisionError(err);
  }
};
