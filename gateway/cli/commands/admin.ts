// user, target and policy management.
import { readFileSync } from 'node:fs';
import QRCode from 'qrcode';
import type { TargetView, UserView, PolicyView } from '../../access/views.js';
import { type Command, enc, usage } from '../command.js';
import { printList, printOne } from '../output.js';
import { readStdinAll, readStdinLines } from '../stdin.js';
import { fetchCertCmd, tlsBodyForAdd, withShortPin } from './target-tls.js';

const firstLine = async (stdin: NodeJS.ReadableStream): Promise<string> => (await readStdinLines(stdin))[0] ?? '';

export const userCmd: Command = async (c) => {
  const [sub, name] = c.flags.positionals;
  const api = c.api();
  switch (sub) {
    case 'add': {
      if (!name) usage('portcullis user add NAME --role R [--password-stdin] [--ssh-key FILE] [--service]');
      const password = c.flags.bool('password-stdin') ? await firstLine(c.stdin) : undefined;
      const keys = c.flags.list('ssh-key').map((f) => readFileSync(f, 'utf8').trim());
      const u = await api.post<UserView>('/api/v1/users', {
        name, roles: c.flags.list('role'), password, ssh_keys: keys, kind: c.flags.bool('service') ? 'service' : 'human',
      });
      printOne(c.out, c.json, u);
      return 0;
    }
    case 'list':
      printList(c.out, c.json, await api.get<UserView[]>('/api/v1/users') as unknown as Array<Record<string, unknown>>, ['name', 'kind', 'roles', 'totp', 'ssh_keys', 'disabled']);
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
      usage('portcullis user add|list|remove|passwd|totp|ssh-key|disable|enable|token');
  }
};

export const targetCmd: Command = async (c) => {
  const [sub, name] = c.flags.positionals;
  const api = c.api();
  switch (sub) {
    case 'add': {
      if (!name) usage('portcullis target add NAME --kind ssh|postgres|mysql --host H --port P --account A (--password-stdin | --key-file F) [--host-key SHA256:...] [--database DB] [--tls disable|require|verify-ca|verify-full] [--tls-ca FILE] [--tls-fingerprint sha256:...] [--allow-weak-upstream-auth] [--tag T]');
      const keyFile = c.flags.opt('key-file');
      const port = c.flags.opt('port');
      const kind = c.flags.req('kind', 'ssh, postgres or mysql');
      const host = c.flags.req('host');
      // Before the password is read: a target that will not be added needs no secret typed.
      const tls = await tlsBodyForAdd(c, kind, host, port);
      const password = c.flags.bool('password-stdin') ? await firstLine(c.stdin) : undefined;
      const t = await api.post<TargetView>('/api/v1/targets', {
        name, kind, host, port: port ? Number(port) : undefined,
        account: c.flags.req('account', 'the account on the target'), password,
        private_key: keyFile ? readFileSync(keyFile, 'utf8') : undefined, host_key: c.flags.opt('host-key'),
        database: c.flags.opt('database'), ...tls, tags: c.flags.list('tag'),
      });
      printOne(c.out, c.json, t);
      return 0;
    }
    case 'list': {
      const rows = await api.get<TargetView[]>('/api/v1/targets');
      if (c.json) printList(c.out, true, rows as unknown as Array<Record<string, unknown>>, []);
      else printList(c.out, false, withShortPin(rows) as unknown as Array<Record<string, unknown>>, ['name', 'kind', 'host', 'port', 'account', 'credential', 'tls', 'tls_pin', 'allow_weak_upstream_auth', 'tags']);
      return 0;
    }
    case 'fetch-cert':
      return fetchCertCmd(c);
    case 'remove':
      if (!name) usage('portcullis target remove NAME');
      printOne(c.out, c.json, await api.del(`/api/v1/targets/${enc(name)}`));
      return 0;
    case 'test': {
      if (!name) usage('portcullis target test NAME');
      const r = await api.post<{ ok: boolean }>(`/api/v1/targets/${enc(name)}/test`);
      printOne(c.out, c.json, r);
      return r.ok ? 0 : 1;
    }
    default:
      usage('portcullis target add|list|remove|test|fetch-cert');
  }
};

const POLICY_FLAGS = '--roles R --targets T|--tags TAG [--max DUR] [--approvals N --approver-roles R] [--ticket-pattern RE] [--no-reason] [--auto-approve] [--auto-approve-roles R] [--auto-approve-window "mon-fri 09-17"] [--on-call U] [--breakglass] [--no-record-keystrokes] [--allow-port-forwarding] [--full-capture] [--recording-optional] [--allow-links]';

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
        allow_links: c.flags.bool('allow-links'),
      };
      // replace: the whole policy is the flags given (like add), under the same id; grants standing
      // on it that it no longer covers are revoked, those with more time left than --max cut short.
      const p = sub === 'add' ? await api.post<PolicyView>('/api/v1/policies', body) : await api.post<PolicyView>(`/api/v1/policies/${enc(name)}`, body);
      printOne(c.out, c.json, p);
      return 0;
    }
    case 'list':
      printList(c.out, c.json, await api.get<PolicyView[]>('/api/v1/policies') as unknown as Array<Record<string, unknown>>, ['name', 'roles', 'targets', 'target_tags', 'max_duration_s', 'approvals_required', 'approver_roles', 'breakglass']);
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
