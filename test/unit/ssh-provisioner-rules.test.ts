// The SSH provisioner's pure parts: every argv it builds for sudo is one its documented sudoers line
// matches (sudo joins the arguments with spaces and matches the anchored regex; JavaScript's regex
// agrees with POSIX ERE on these patterns), hostile words never reach a command line, and the
// discovery parsers read getent, sudoers, `passwd -S -a` and stat output into discovery's words.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProvisionError } from '../../gateway/provision/provisioner.js';
import { classify, parseGroups, parsePasswd, parseSudoersPrincipals } from '../../gateway/ssh/linux-discovery.js';
import { keyBlob } from '../../gateway/ssh/provisioner.js';
import { commandLine, shellQuote } from '../../gateway/ssh/remote-exec.js';
import { cmd, expiryDay, sudoersLines } from '../../gateway/ssh/sudo-rules.js';

const ACCOUNT = 'pcx_abcdefgh2345';
const lines = sudoersLines('pcprov', ['pcgrp_user', 'pcgrp_admin']);

/** Whether some documented line allows this `sudo -n CMD ARGS...` argv, the way sudo matches it. */
function allowed(argv: string[]): boolean {
  const [, , bin, ...args] = argv;
  return lines.some((l) => {
    const rest = l.replace(/^pcprov ALL=\(root\) NOPASSWD: /, '');
    const sp = rest.indexOf(' ');
    const lineBin = rest.slice(0, sp);
    const spec = rest.slice(sp + 1).replace(/\\,/g, ',');
    if (lineBin !== bin) return false;
    const joined = args.join(' ');
    return spec.startsWith('^') ? new RegExp(spec).test(joined) : spec === joined;
  });
}

describe('sudo argvs and the documented sudoers lines', () => {
  it('every command the provisioner runs is allowed by exactly the lines', () => {
    expect(allowed(cmd.useradd(ACCOUNT, 'gr_AbC-9_x', ['pcgrp_user', 'pcgrp_admin'], '2030-01-02'))).toBe(true);
    expect(allowed(cmd.useradd(ACCOUNT, 'gr_AbC-9_x', [], null))).toBe(true);
    expect(allowed(cmd.sshDir(ACCOUNT))).toBe(true);
    expect(allowed(cmd.authorizedKey(ACCOUNT))).toBe(true);
    expect(allowed(cmd.lock(ACCOUNT))).toBe(true);
    expect(allowed(cmd.kill(ACCOUNT))).toBe(true);
    expect(allowed(cmd.userdel(ACCOUNT, false))).toBe(true);
    expect(allowed(cmd.userdel(ACCOUNT, true))).toBe(true);
    expect(allowed(cmd.catSudoers(['90-cloud-init-users', 'README']))).toBe(true);
    expect(allowed(cmd.passwdStatus())).toBe(true);
    expect(allowed(cmd.statKeys(['/root', '/home/a.b', '/var/lib/x']))).toBe(true);
  });

  it('the README documents exactly these lines', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## SSH ephemeral users and rotation: what the provisioner needs'));
    const block = /```\n([\s\S]*?)```/.exec(section)![1]!.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(block).toEqual(sudoersLines('portcullis', ['pcgrp_user', 'pcgrp_admin']));
  });

  it('the lines allow no group outside the levels, no uid, no other user', () => {
    expect(allowed(cmd.useradd(ACCOUNT, 'g', ['sudo'], null))).toBe(false);
    expect(allowed(['sudo', '-n', '/usr/sbin/useradd', '-o', '-u', '0', ACCOUNT])).toBe(false);
    expect(allowed(['sudo', '-n', '/usr/sbin/userdel', '--remove', 'root'])).toBe(false);
    expect(allowed(['sudo', '-n', '/usr/bin/pkill', '-KILL', '-u', 'root'])).toBe(false);
    expect(allowed(['sudo', '-n', '/usr/bin/cat', '/etc/shadow'])).toBe(false);
    expect(allowed(['sudo', '-n', '/usr/bin/install', '-m', '0600', '-o', ACCOUNT, '-g', ACCOUNT, '/dev/stdin', '/root/.ssh/authorized_keys'])).toBe(false);
  });

  it('hostile words never become arguments', () => {
    const hostile = ['x"; DROP ROLE postgres; --', "a' ; rm -rf / ; '", 'sudo,root', '-o -u 0', 'a\nb'];
    for (const h of hostile) {
      expect(() => cmd.useradd(ACCOUNT, 'g', [h], null), h).toThrow(ProvisionError);
      expect(() => cmd.useradd(ACCOUNT, h, [], null), h).toThrow(ProvisionError);
      expect(() => cmd.userdel(h, false), h).toThrow(ProvisionError);
      expect(() => cmd.catSudoers([h]), h).toThrow(ProvisionError);
    }
    expect(() => cmd.userdel('pctest', false)).toThrow(/not an ephemeral account/);
    expect(() => cmd.statKeys(['/home/a b'])).toThrow(ProvisionError);
    expect(() => sudoersLines('x y', [])).toThrow();
  });

  it('quotes for the remote shell and refuses control characters', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(commandLine(['sudo', '-n', '/usr/bin/cat', '/etc/sudoers'])).toBe(`'sudo' '-n' '/usr/bin/cat' '/etc/sudoers'`);
    expect(() => shellQuote('a\nb')).toThrow(ProvisionError);
    expect(() => shellQuote('a\0b')).toThrow(ProvisionError);
  });

  it('expires the account the UTC day after the grant ends (a backstop, never early)', () => {
    expect(expiryDay(Date.UTC(2030, 0, 1, 23, 59))).toBe('2030-01-02');
    expect(expiryDay(Date.UTC(2030, 0, 1, 0, 0))).toBe('2030-01-02');
  });
});

describe('Linux discovery parsing', () => {
  const passwd = parsePasswd([
    'root:x:0:0:root:/root:/bin/bash', 'toor:x:0:0::/home/toor:/bin/sh', 'alice:x:1000:1000::/home/alice:/bin/bash',
    'bob:x:1001:27::/home/bob:/bin/bash', 'carol:x:1002:1002::/home/carol:/bin/bash', 'dave:x:1003:1003::/home/dave:/bin/bash',
    'svc:x:999:999::/var/lib/svc:/usr/sbin/nologin', 'broken line', '',
  ].join('\n'));
  const groups = parseGroups(['root:x:0:', 'sudo:x:27:alice', 'ops:x:2000:carol,erin', 'broken'].join('\n'));
  const sudoers = [
    '# comment', 'Defaults env_reset', 'Cmnd_Alias X = /bin/ls', 'root ALL=(ALL:ALL) ALL', '%sudo ALL=(ALL:ALL) ALL',
    'User_Alias ADMINS = dave, !mallory', 'ADMINS ALL=(root) NOPASSWD: /usr/bin/id', '%ops, frank ALL = (root) /bin/true',
    'gina,\\', '  hank ALL=(ALL) ALL', '@includedir /etc/sudoers.d', '#includedir /etc/sudoers.d',
  ].join('\n');

  it('reads user specs, groups and User_Alias from sudoers', () => {
    const p = parseSudoersPrincipals(sudoers);
    expect([...p.users].sort()).toEqual(['dave', 'frank', 'gina', 'hank', 'root']);
    expect([...p.groups].sort()).toEqual(['ops', 'sudo']);
    expect(p.all).toBe(false);
  });

  it('classifies uid 0, sudo, sudo groups (members and primary group), keys and passwords', () => {
    const found = classify({ passwd, groups, sudoers, keyHomes: new Set(['/home/carol']), passwords: new Set(['alice', 'svc']) });
    const of = (a: string): string[] | undefined => found.find((f) => f.account === a)?.privileges;
    expect(of('root')).toEqual(['sudo', 'uid-0']);
    expect(of('toor')).toEqual(['uid-0']);
    expect(of('alice')).toEqual(['password', 'sudo-group:sudo']);
    expect(of('bob')).toEqual(['sudo-group:sudo']);
    expect(of('carol')).toEqual(['authorized-keys', 'sudo-group:ops']);
    expect(of('erin')).toEqual(['sudo-group:ops']);
    expect(of('dave')).toEqual(['sudo']);
    expect(of('svc')).toEqual(['password']);
    expect(of('mallory')).toBeUndefined();
  });

  it('without sudoers (no right to read it) still reports uid 0 and the usual sudo groups', () => {
    const found = classify({ passwd, groups, sudoers: null, keyHomes: null, passwords: null });
    expect(found.map((f) => f.account)).toEqual(['alice', 'bob', 'root', 'toor']);
  });

  it('compares authorized key lines by type and blob, ignoring options and comments', () => {
    expect(keyBlob('from="10.0.0.1",no-pty ssh-ed25519 AAAAC3Nz+/= me@host')).toBe('ssh-ed25519 AAAAC3Nz+/=');
    expect(keyBlob('ssh-ed25519 AAAAC3Nz')).toBe('ssh-ed25519 AAAAC3Nz');
    expect(keyBlob('# ssh-ed25519')).toBeNull();
    expect(keyBlob('')).toBeNull();
  });
});
