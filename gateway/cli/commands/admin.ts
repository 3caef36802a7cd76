// user, target and policy management.
import { readFileSync } from 'node:fs';
import QRCode from 'qrcode';
import type { TargetSummaryView, TargetView, UserView, PolicyView } from '../../access/views.js';
import { rsaKeyFingerprint } from '../../mysql/wire/rsa-key.js';
import { PortcullisError } from '../../util/errors.js';
import { type Command, type CommandContext, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';
import { readStdinAll, readStdinLines } from '../stdin.js';
import { TARGET_ZSP_FLAGS, withLevelsText, zspBody } from './target-levels.js';
import { fetchCertCmd, tlsBodyForAdd, withShortPin } from './target-tls.js';

/** `--mysql-rsa-key FILE`: only the fingerprint of the key leaves this machine. */
function pemFingerprint(file: string): string {
  try {
    return rsaKeyFingerprint(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PortcullisError('bad-request', `--mysql-rsa-key ${file}: not an RSA public key in PEM (${e instanceof Error ? e.message : String(e)})`);
  }
}

const firstLine = async (stdin: NodeJS.ReadableStream): Promise<string> => (await readStdinLines(stdin))[0] ?? '';

export const userCmd: Command = async (c) => {
  const [sub, name] = c.flags.positionals;
  const api = c.api();
  switch (sub) {
    case 'add': {
      if (!name) usage('portcullis user add NAME --role R [--password-stdin] [--ssh-key FILE] [--service] [--mysql-native-password]');
      const password = c.flags.bool('password-stdin') ? await firstLine(c.stdin) : undefined;
      const keys = c.flags.list('ssh-key').map((f) => readFileSync(f, 'utf8').trim());
      const u = await api.post<UserView>('/api/v1/users', {
        name, roles: c.flags.list('role'), password, ssh_keys: keys, kind: c.flags.bool('service') ? 'service' : 'human',
        mysql_native_password: c.flags.bool('mysql-native-password'),
      });
      printOne(c.out, c.json, u);
      return 0;
    }
    case 'update': {
      const on = c.flags.bool('mysql-native-password');
      const off = c.flags.bool('no-mysql-native-password');
      if (!name || on === off) usage('portcullis user update NAME --mysql-native-password | --no-mysql-native-password');
      printOne(c.out, c.json, await api.post<UserView>(`/api/v1/users/${enc(name)}`, { mysql_native_password: on }));
      return 0;
    }
    case 'list':
      printList(c.out, c.json, await api.get<UserView[]>('/api/v1/users') as unknown as Array<Record<string, unknown>>, ['name', 'kind', 'source', 'roles', 'totp', 'mysql_native_password', 'ssh_keys', 'disabled']);
      return 0;
    case 'remove':
      if (!name) usage('portcullis user remove NAME');
      printOne(c.out, c.json, await api.del(`/api/v1/users/${enc(name)}`));
      return 0;
    case 'passwd':
      if (!name) usage('portcullis user passwd NAME --password-stdin');
      if (!c.flags.bool('password-stdin')) usage('portcullis user passwd NAME --password-stdin (passwords are read from standard input)');
      printOne(c.out, c.json, await api.post(`/api/v1/users/${enc(name)}/password`, { password: await firstLine(c.stdin) }));
      return 0;
    case 'totp': {
      if (!name) usage('portcullis user totp NAME [--remove]');
      const r = await api.post<{ uri?: string }>(`/api/v1/users/${enc(name)}/totp`, { remove: c.flags.bool('remove') });
      if (c.json || !r.uri) { printOne(c.out, c.json, r); return 0; }
      c.out.write(`${r.uri}\n\n${await QRCode.toString(r.uri, { type: 'terminal', small: true })}\n`);
      c.out.write('Scan it with an authenticator app. It is shown only now.\n');
      return 0;
    }
    case 'ssh-key': {
      const file = c.flags.positionals[2];
      if (!name || !file) usage('portcullis user ssh-key NAME FILE.pub');
      printOne(c.out, c.json, await api.post(`/api/v1/users/${enc(name)}/ssh-keys`, { key: readFileSync(file, 'utf8').trim() }));
      return 0;
    }
    case 'disable':
    case 'enable':
      if (!name) usage(`portcullis user ${sub} NAME`);
      printOne(c.out, c.json, await api.post(`/api/v1/users/${enc(name)}/disable`, { disabled: sub === 'disable' }));
      return 0;
    case 'token': {
      if (!name) usage('portcullis user token NAME [--ttl DUR] [--label TEXT]   (service accounts)');
      printOne(c.out, c.json, await api.post('/api/v1/tokens', { user: name, ttl: c.flags.opt('ttl'), label: c.flags.opt('label') }));
      return 0;
    }
    default:
      usage('portcullis user add|list|update|remove|passwd|totp|ssh-key|disable|enable|token');
  }
};

export const targetCmd: Command = async (c) => {
  const [sub, name] = c.flags.positionals;
  const api = c.api();
  switch (sub) {
    case 'add': {
      if (!name) usage('portcullis target add NAME --kind ssh|postgres|mysql --host H --port P --account A (--password-stdin | --key-file F) [--host-key SHA256:...] [--database DB] [--tls disable|require|verify-ca|verify-full] [--tls-ca FILE] [--tls-fingerprint sha256:...] [--allow-weak-upstream-auth] [--mysql-rsa-key FILE | --mysql-rsa-fingerprint sha256:HEX] [--tag T] ' + TARGET_ZSP_FLAGS);
      const keyFile = c.flags.opt('key-file');
      const port = c.flags.opt('port');
      const kind = c.flags.req('kind', 'ssh, postgres or mysql');
      const host = c.flags.req('host');
      // Before the password is read: a target that will not be added needs no secret typed.
      const tls = await tlsBodyForAdd(c, kind, host, port);
      const password = c.flags.bool('password-stdin') ? await firstLine(c.stdin) : undefined;
      const rsaKeyFile = c.flags.opt('mysql-rsa-key');
      const t = await api.post<TargetView>('/api/v1/targets', {
        name, kind, host, port: port ? Number(port) : undefined,
        account: c.flags.req('account', 'the account on the target'), password,
        private_key: keyFile ? readFileSync(keyFile, 'utf8') : undefined, host_key: c.flags.opt('host-key'),
        database: c.flags.opt('database'), ...tls,
        mysql_rsa_fingerprint: rsaKeyFile ? pemFingerprint(rsaKeyFile) : c.flags.opt('mysql-rsa-fingerprint'),
        tags: c.flags.list('tag'), ...zspBody(c, false),
      });
      printOne(c.out, c.json, c.json ? t : withLevelsText(t));
      return 0;
    }
    case 'update': {
      if (!name) usage(`portcullis target update NAME ${TARGET_UPDATE_FLAGS}`);
      const t = await api.post<TargetView>(`/api/v1/targets/${enc(name)}`, await targetChange(c));
      printOne(c.out, c.json, c.json ? t : withLevelsText(t));
      return 0;
    }
    case 'show': {
      if (!name) usage('portcullis target show NAME');
      const t = await api.get<TargetView | TargetSummaryView>(`/api/v1/targets/${enc(name)}`);
      printOne(c.out, c.json, c.json || !('host' in t) ? t : withLevelsText(t));
      return 0;
    }
    case 'list': {
      // Admins get targets whole; everyone else the need-to-know summary (no address, no account).
      const rows = await api.get<TargetView[] | TargetSummaryView[]>('/api/v1/targets');
      const whole = (rows as Array<TargetView | TargetSummaryView>).some((r) => 'host' in r);
      if (c.json) printList(c.out, true, rows as unknown as Array<Record<string, unknown>>, []);
      else if (!whole) printList(c.out, false, rows as unknown as Array<Record<string, unknown>>, ['name', 'kind', 'levels', 'tags', 'requestable', 'breakglass', 'granted']);
      else printList(c.out, false, withShortPin(rows as TargetView[]).map(withLevelsText), ['name', 'kind', 'host', 'port', 'account', 'credential', 'tls', 'tls_pin', 'allow_weak_upstream_auth', 'credential_mode', 'levels', 'rotate', 'tags']);
      return 0;
    }
    case 'fetch-cert':
      return fetchCertCmd(c);
    case 'remove':
      // --force: remove it even when its ephemeral accounts cannot be dropped (they are abandoned, audited).
      if (!name) usage('portcullis target remove NAME [--force]');
      printOne(c.out, c.json, await api.del(`/api/v1/targets/${enc(name)}${c.flags.bool('force') ? '?force=1' : ''}`));
      return 0;
    case 'test': {
      if (!name) usage('portcullis target test NAME');
      const r = await api.post<{ ok: boolean }>(`/api/v1/targets/${enc(name)}/test`);
      printOne(c.out, c.json, r);
      return r.ok ? 0 : 1;
    }
    case 'rotate': {
      // Prints when it was rotated and that the new secret was verified; a failure is the API's error.
      if (!name) usage('portcullis target rotate NAME');
      printOne(c.out, c.json, await api.post<Record<string, unknown>>(`/api/v1/targets/${enc(name)}/rotate`));
      return 0;
    }
    default:
      usage('portcullis target add|update|show|list|remove|test|fetch-cert|rotate');
  }
};

const TARGET_UPDATE_FLAGS = '[--kind K] [--host H] [--port P] [--account A] [--host-key SHA256:...] [--tls MODE] [--tls-ca FILE] [--tls-fingerprint sha256:...] [--database DB] ' +
  '[--allow-weak-upstream-auth | --refuse-weak-upstream-auth] [--mysql-rsa-key FILE | --mysql-rsa-fingerprint sha256:HEX] ' +
  '[--tag T]... [--no-tags] ' + TARGET_ZSP_FLAGS + ' [--remove-home] [--password-stdin | --key-file F]   ' +
  '(changing kind, host, port, account, host key, TLS, the weak-auth opt-in, the RSA pin, --credential, --level or --ephemeral-reassign-to needs the credential again)';

/** Only the flags given become fields: the API changes those and keeps the rest. */
async function targetChange(c: CommandContext): Promise<Record<string, unknown>> {
  const keyFile = c.flags.opt('key-file');
  const caFile = c.flags.opt('tls-ca');
  const port = c.flags.opt('port');
  const tags = c.flags.list('tag');
  const rsaKeyFile = c.flags.opt('mysql-rsa-key');
  if (c.flags.bool('allow-weak-upstream-auth') && c.flags.bool('refuse-weak-upstream-auth')) usage('give one of --allow-weak-upstream-auth and --refuse-weak-upstream-auth');
  // Checked here: NaN would travel as JSON null, which the API reads as "not given".
  if (port !== undefined && !/^\d{1,5}$/.test(port)) usage('--port must be a number (1-65535)');
  return {
    kind: c.flags.opt('kind'), host: c.flags.opt('host'), port: port === undefined ? undefined : Number(port), account: c.flags.opt('account'),
    host_key: c.flags.opt('host-key'), tls: c.flags.opt('tls'), tls_ca: caFile === undefined ? undefined : readFileSync(caFile, 'utf8'),
    tls_fingerprint: c.flags.opt('tls-fingerprint'),
    database: c.flags.opt('database'),
    allow_weak_upstream_auth: c.flags.bool('allow-weak-upstream-auth') ? true : c.flags.bool('refuse-weak-upstream-auth') ? false : undefined,
    mysql_rsa_fingerprint: rsaKeyFile ? pemFingerprint(rsaKeyFile) : c.flags.opt('mysql-rsa-fingerprint'),
    tags: c.flags.bool('no-tags') ? [] : tags.length > 0 ? tags : undefined,
    password: c.flags.bool('password-stdin') ? await firstLine(c.stdin) : undefined,
    private_key: keyFile === undefined ? undefined : readFileSync(keyFile, 'utf8'),
    ...zspBody(c, true),
  };
}

const POLICY_FLAGS = '--roles R --targets T|--tags TAG [--max DUR] [--approvals N --approver-roles R] [--ticket-pattern RE] [--no-reason] [--auto-approve] [--auto-approve-roles R] [--auto-approve-window "mon-fri 09:00-17:00 Europe/Berlin"] [--on-call U] [--breakglass] [--no-record-keystrokes] [--allow-port-forwarding] [--full-capture] [--recording-optional] [--allow-links] [--levels L1,L2] [--window "mon-fri 09:00-17:00 Europe/Berlin"] [--ticket-check URL]';

export const policyCmd: Command = async (c) => {
  const [sub, name] = c.flags.positionals;
  const api = c.api();
  switch (sub) {
    case 'add':
    case 'replace': {
      if (!name) usage(`portcullis policy ${sub} NAME ${POLICY_FLAGS}`);
      const approvals = c.flags.opt('approvals');
      const body = {
        name, roles: c.flags.list('roles'), targets: c.flags.list('targets'), tags: c.flags.list('tags'), max: c.flags.opt('max'),
        approvals: approvals === undefined ? undefined : Number(approvals), approver_roles: c.flags.list('approver-roles'),
        ticket_pattern: c.flags.opt('ticket-pattern'), require_reason: !c.flags.bool('no-reason'),
        auto_approve: c.flags.bool('auto-approve'), auto_approve_roles: c.flags.list('auto-approve-roles'),
        auto_approve_window: c.flags.opt('auto-approve-window'), on_call: c.flags.list('on-call'),
        breakglass: c.flags.bool('breakglass'), record_keystrokes: !c.flags.bool('no-record-keystrokes'),
        allow_port_forwarding: c.flags.bool('allow-port-forwarding'),
        capture_full_output: c.flags.bool('full-capture'), recording_required: !c.flags.bool('recording-optional'),
        allow_links: c.flags.bool('allow-links'), levels: c.flags.list('levels'),
        window: c.flags.opt('window'), ticket_check: c.flags.opt('ticket-check'),
      };
      // replace: the whole policy is the flags given (like add), under the same id; grants standing
      // on it that it no longer covers are revoked, those with more time left than --max cut short.
      const p = sub === 'add' ? await api.post<PolicyView>('/api/v1/policies', body) : await api.post<PolicyView>(`/api/v1/policies/${enc(name)}`, body);
      printOne(c.out, c.json, p);
      return 0;
    }
    case 'list':
      printList(c.out, c.json, await api.get<PolicyView[]>('/api/v1/policies') as unknown as Array<Record<string, unknown>>, ['name', 'roles', 'targets', 'target_tags', 'levels', 'max_duration_s', 'approvals_required', 'approver_roles', 'breakglass', 'window', 'ticket_check']);
      return 0;
    case 'remove':
      if (!name) usage('portcullis policy remove NAME');
      printOne(c.out, c.json, await api.del(`/api/v1/policies/${enc(name)}`));
      return 0;
    default:
      usage('portcullis policy add|replace|list|remove');
  }
};

export { readStdinAll };
