// Guardrail rules through the real CLI and API against a running `portcullis serve`: add, list and
// remove; every bad input refused with a clear error and a non-zero exit, changing nothing; only
// admins may change or read rules; a message cannot carry terminal control characters; two adds of
// one name at once leave one rule; each change is in the audit. The CLI runs in process (main() of
// dist/, the same argv parsing, wording and exit codes) except for a few spawned calls that prove
// the binary's own exit status: a spawned CLI costs ~1 s of CPU each, and this file makes ~90 calls.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuleAddedView, RuleView } from '../../gateway/api-types.js';
import { type CliResult, type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { adminIn, adminSpawned, asIn, loginIn } from '../harness/cli-in-process.js';
import { apiLogin, apiRequest } from '../harness/https-api.js';

const HOST_KEY = 'SHA256:' + 'B'.repeat(43);
let gw: GatewayPeer;

beforeAll(async () => {
  gw = await startGateway();
  const must = async (r: Promise<{ code: number; stderr: string }>): Promise<void> => { const x = await r; if (x.code !== 0) throw new Error(x.stderr); };
  await Promise.all([
    must(admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin'], 'ops-Password-1\n')),
    must(admin(['user', 'add', 'alice', '--role', 'approver', '--password-stdin'], 'alice-Password-1\n')),
    must(admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', '22', '--account', 'root', '--password-stdin', '--host-key', HOST_KEY, '--tag', 'web'], 'x-secret\n')),
    must(admin(['target', 'add', 'db01', '--kind', 'postgres', '--host', '127.0.0.1', '--port', '5432', '--account', 'app', '--tls', 'disable', '--password-stdin', '--tag', 'prod'], 'x-secret\n')),
  ]);
  await Promise.all(['ops', 'alice'].map((u) => must(loginIn(gw, u, `${u}-Password-1`))));
}, 120_000);

afterAll(async () => { await gw?.stop(); });

const admin = (args: string[], stdin?: string): Promise<CliResult> => adminIn(gw, args, stdin);
const rules = async (): Promise<RuleView[]> => json<RuleView[]>(await admin(['rule', 'list', '--json']));

describe('portcullis rule', () => {
  it('adds, lists and removes SQL and command rules', async () => {
    const sql = json<RuleAddedView>(await admin(['rule', 'add', 'no-drop', '--kind', 'sql', '--class', 'DROP', '--action', 'deny', '--targets', 'db01,tag:prod',
      '--roles', 'ops', '--message', 'no drops in production', '--json']));
    expect(sql).toMatchObject({ name: 'no-drop', kind: 'sql', class: 'drop', match: null, action: 'deny', targets: ['db01', 'tag:prod'], roles: ['ops'],
      levels: [], message: 'no drops in production', unparsable: 'deny', created_by: 'admin' });
    const cmd = await admin(['rule', 'add', 'no-shutdown', '--kind', 'command', '--match', 'glob:shutdown*', '--action', 'flag', '--targets', 'web01']);
    expect(cmd.code, cmd.stderr).toBe(0);
    expect(cmd.stdout).toMatch(/^name: no-shutdown$/m);
    const fn = json<RuleAddedView>(await admin(['rule', 'add', 'no-kill', '--kind', 'sql', '--class', 'function:pg_terminate_backend', '--action', 'deny', '--json']));
    // A flag rule reads unparsable statements as allowed unless told otherwise.
    expect(fn).toMatchObject({ class: 'function:pg_terminate_backend', unparsable: 'deny' });
    const flag = json<RuleAddedView>(await admin(['rule', 'add', 'watch-writes', '--kind', 'sql', '--class', 'unbounded-write', '--action', 'flag', '--json']));
    expect(flag.unparsable).toBe('allow');
    expect((await rules()).map((r) => r.name)).toEqual(['no-drop', 'no-shutdown', 'no-kill', 'watch-writes']);
    const table = await admin(['rule', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+KIND\s+RULE\s+ACTION/);
    expect(table.stdout).toMatch(/no-shutdown\s+command\s+match glob:shutdown\*\s+flag\s+web01/);
    for (const n of ['no-drop', 'no-shutdown', 'no-kill', 'watch-writes']) expect((await admin(['rule', 'remove', n])).code).toBe(0);
    expect((await rules())).toEqual([]);
    const again = await admin(['rule', 'remove', 'no-drop']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no rule "no-drop".*\(not-found\)/);
  });

  it('refuses every bad rule with a clear error and a non-zero exit, and stores nothing', async () => {
    const base = ['rule', 'add', 'r1'];
    const cases: Array<[string[], RegExp, number?]> = [
      [[...base, '--kind', 'sql', '--match', 'drop (table', '--action', 'deny'], /is not a valid regular expression.*\(bad-request\)/],
      [[...base, '--kind', 'sql', '--match', '(a+)+$', '--action', 'deny'], /exponential time.*nested repetition/],
      [[...base, '--kind', 'command', '--match', 're:(x*)*y', '--action', 'deny'], /exponential time/],
      [[...base, '--kind', 'sql', '--class', 'drop-everything', '--action', 'deny'], /unknown class "drop-everything"; classes are ddl, drop, truncate/],
      [[...base, '--kind', 'sql', '--class', 'function:pg_catalog.pg_sleep()', '--action', 'deny'], /function:NAME takes a function name without schema/],
      [[...base, '--kind', 'command', '--class', 'drop', '--action', 'deny'], /--class is for SQL rules; a command rule takes --match/],
      [[...base, '--kind', 'sql', '--class', 'drop', '--match', 'drop', '--action', 'deny'], /exactly one of --class CLASS and --match PATTERN/],
      [[...base, '--kind', 'sql', '--action', 'deny'], /exactly one of --class CLASS and --match PATTERN/],
      [[...base, '--kind', 'sql', '--class', 'drop', '--action', 'deny', '--targets', 'nope'], /unknown target "nope" in --targets.*tag:NAME/],
      [[...base, '--kind', 'sql', '--class', 'drop', '--action', 'deny', '--targets', 'web01'], /"web01" is an ssh target: an SQL rule applies to postgres and mysql/],
      [[...base, '--kind', 'command', '--match', 'reboot', '--action', 'deny', '--targets', 'db01'], /"db01" is a postgres target: a command rule applies to ssh/],
      [[...base, '--kind', 'sql', '--class', 'drop', '--action', 'block'], /--action must be deny or flag \(got "block"\)/],
      [[...base, '--kind', 'nosql', '--class', 'drop', '--action', 'deny'], /--kind must be sql or command/],
      [[...base, '--kind', 'sql', '--class', 'drop', '--action', 'deny', '--unparsable', 'maybe'], /--unparsable must be deny or allow/],
      [[...base, '--kind', 'sql', '--class', 'drop', '--action', 'deny', '--roles', 'o+ps'], /invalid role "o\+ps"/],
      [[...base, '--kind', 'sql', '--class', 'drop', '--action', 'deny', '--message', 'x'.repeat(501)], /--message is limited to 500 characters/],
      [['rule', 'add', 'bad name', '--kind', 'sql', '--class', 'drop', '--action', 'deny'], /rule name "bad name": use letters/],
      [['rule', 'add', '--kind', 'sql', '--class', 'drop', '--action', 'deny'], /usage: portcullis rule add NAME --kind/, 2],
      [[...base, '--class', 'drop', '--action', 'deny'], /usage: portcullis rule add NAME --kind/, 2],
      [[...base, '--kind', 'sql', '--class', 'drop'], /usage: portcullis rule add NAME --kind/, 2],
      [['rule', 'remove'], /usage: portcullis rule remove NAME/, 2],
      [['rule'], /usage: portcullis rule add\|list\|remove/, 2],
    ];
    const replies = await Promise.all(cases.map(([args]) => admin(args)));
    cases.forEach(([args, re, code], i) => {
      expect(replies[i]!.code, args.join(' ')).toBe(code ?? 1);
      expect(replies[i]!.stderr, args.join(' ')).toMatch(re);
    });
    expect((await rules())).toEqual([]);
    // The spawned binary exits with the code main() returned: refused 1, usage 2, done 0.
    const spawned = await Promise.all([cases[0]!, cases[17]!, cases[21]!].map(([args]) => adminSpawned(gw, args)));
    expect(spawned.map((r) => r.code)).toEqual([1, 2, 2]);
    expect(spawned[0]!.stderr).toMatch(cases[0]![1]);
    expect(spawned[1]!.stderr).toMatch(cases[17]![1]);
    expect(spawned[2]!.stderr).toMatch(cases[21]![1]);
    const list = await adminSpawned(gw, ['rule', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('accepts an unknown role, tag or level with a note, and a duplicate name is a conflict', async () => {
    const r = await admin(['rule', 'add', 'scoped', '--kind', 'sql', '--class', 'truncate', '--action', 'deny', '--roles', 'dba', '--targets', 'tag:nowhere', '--levels', 'write']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: no user has role "dba" yet/);
    expect(r.stderr).toMatch(/note: no target has tag "nowhere" yet/);
    expect(r.stderr).toMatch(/note: no target has level "write"/);
    const dup = await admin(['rule', 'add', 'scoped', '--kind', 'sql', '--class', 'drop', '--action', 'deny']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists.*\(conflict\)/);
    expect((await rules()).map((x) => x.class)).toEqual(['truncate']);
    expect((await admin(['rule', 'remove', 'scoped'])).code).toBe(0);
  });

  it('strips control characters from a message (no escape sequence reaches a terminal)', async () => {
    const evil = 'denied\x1b]0;pwned\x07 \x1b[2J\r\nroot# \u202eok\x7f';
    const r = json<RuleAddedView>(await admin(['rule', 'add', 'evil-msg', '--kind', 'command', '--match', 'rm', '--action', 'deny', '--message', evil, '--json']));
    // eslint-disable-next-line no-control-regex
    expect(r.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(r.message).toBe('denied ]0;pwned [2J root# ok');
    const only = json<RuleAddedView>(await admin(['rule', 'add', 'empty-msg', '--kind', 'command', '--match', 'rm', '--action', 'deny', '--message', '\x1b\x07', '--json']));
    expect(only.message).toBeNull();
    for (const n of ['evil-msg', 'empty-msg']) expect((await admin(['rule', 'remove', n])).code).toBe(0);
  });

  it('strips a NUL and a C1 control sent through the API too', async () => {
    const token = readAdminToken();
    const r = await apiRequest(gw, 'POST', '/api/v1/rules', { token, body: { name: 'nul-msg', kind: 'sql', class: 'drop', action: 'deny', message: 'a\u0000b\u009bc' } });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as RuleView).message).toBe('a b c');
    expect((await admin(['rule', 'remove', 'nul-msg'])).code).toBe(0);
  });

  it('lets only admins read, add or remove rules (approver and requester get 403, audited)', async () => {
    expect((await admin(['rule', 'add', 'guard', '--kind', 'sql', '--class', 'drop', '--action', 'deny'])).code).toBe(0);
    for (const u of ['ops', 'alice']) {
      for (const args of [['rule', 'list'], ['rule', 'remove', 'guard'], ['rule', 'add', 'mine', '--kind', 'sql', '--class', 'ddl', '--action', 'flag']]) {
        const r = await asIn(gw, u, args);
        expect(r.code, `${u} ${args.join(' ')}`).toBe(1);
        expect(r.stderr).toMatch(/\(forbidden\)/);
      }
    }
    const token = await apiLogin(gw, 'ops', 'ops-Password-1');
    expect((await apiRequest(gw, 'DELETE', '/api/v1/rules/guard', { token })).status).toBe(403);
    expect((await apiRequest(gw, 'GET', '/api/v1/rules')).status).toBe(401);
    expect((await rules()).map((r) => r.name)).toEqual(['guard']);
    expect((await admin(['rule', 'remove', 'guard'])).code).toBe(0);
  });

  it('keeps one rule when two adds of one name race, and bounds a huge scope list', async () => {
    const token = readAdminToken();
    const body = (i: number): unknown => ({ name: 'race', kind: 'sql', class: i % 2 ? 'drop' : 'truncate', action: 'deny' });
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => apiRequest(gw, 'POST', '/api/v1/rules', { token, body: body(i) })));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(7);
    expect((await rules()).filter((r) => r.name === 'race')).toHaveLength(1);
    const huge = await apiRequest(gw, 'POST', '/api/v1/rules', {
      token, body: { name: 'huge', kind: 'sql', class: 'drop', action: 'deny', roles: Array.from({ length: 5000 }, (_, i) => `r${i}`) },
    });
    expect(huge.status).toBe(400);
    expect(huge.body).toMatch(/--roles lists at most 200 entries/);
    const wrongType = await apiRequest(gw, 'POST', '/api/v1/rules', { token, body: { name: 'x', kind: 'sql', class: 7, action: 'deny' } });
    expect(wrongType.status).toBe(400);
    expect((JSON.parse(wrongType.body) as { error: { message: string } }).error.message).toBe('"class" must be a string');
    expect((await admin(['rule', 'remove', 'race'])).code).toBe(0);
  });

  it('writes rule.added and rule.removed to the audit', async () => {
    const audit = json<Array<{ code: string; actor: string; data: Record<string, unknown> }>>(await admin(['audit', 'list', '--json']));
    const added = audit.filter((e) => e.code === 'rule.added');
    const removed = audit.filter((e) => e.code === 'rule.removed');
    expect(added.find((e) => e.data.rule === 'no-drop')).toMatchObject({ actor: 'admin', data: { kind: 'sql', class: 'drop', action: 'deny', targets: ['db01', 'tag:prod'], roles: ['ops'] } });
    expect(removed.find((e) => e.data.rule === 'no-shutdown')).toMatchObject({ data: { kind: 'command', match: 'glob:shutdown*', action: 'flag' } });
    expect(added.length).toBe(removed.length);
  });
});

function readAdminToken(): string {
  // The admin token `init` wrote into the data dir (what the CLI's --data uses).
  return readFileSync(join(gw.dataDir, 'admin.token'), 'utf8').trim();
}
