// The lines "My access" gives to copy: what a shell makes of them is exactly the intended argv,
// whatever an admin named the database (spaces, quotes, $) and whichever host the gateway has.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { connectLine } from '../../gateway/access/self-service-views.js';
import type { TargetRecord, UserRecord } from '../../gateway/store/records.js';

const user = { name: 'alice', sshKeys: [], source: 'local', totpSealed: null, passwordHash: 'x' } as unknown as UserRecord;
const target = (kind: TargetRecord['kind'], database: string | null = null): Pick<TargetRecord, 'name' | 'kind' | 'levels' | 'database' | 'account'> =>
  ({ name: 'orders-db', kind, levels: [{ name: 'read', grants: [] }, { name: 'write', grants: [] }], database, account: 'app' });
const at = { host: 'pam.example.com', sshPort: 2222, pgPort: 15432, mysqlPort: 13306 };

/** The argv bash makes of a command line (printed NUL-separated by printf). */
const argv = (line: string): string[] => execFileSync('bash', ['-c', `set -f; args() { printf '%s\\0' "$@"; }; args ${line}`]).toString().split('\0').slice(0, -1);

describe('connect lines', () => {
  it('names the level only when it is not the target\'s first', () => {
    expect(connectLine(user, target('ssh'), 'read', at).command).toBe('ssh -p 2222 alice+orders-db@pam.example.com');
    expect(connectLine(user, target('ssh'), 'write', at).command).toBe('ssh -p 2222 alice+orders-db+write@pam.example.com');
    expect(connectLine(user, target('mysql'), 'write', at).command).toBe('mysql -h pam.example.com -P 13306 -u alice+orders-db+write -p --ssl');
  });

  it('quotes a database name with spaces, quotes and $ so the shell and libpq read it back whole', () => {
    const line = connectLine(user, target('postgres', `it's "my" $db\\x`), 'read', at).command;
    const args = argv(line.replace(/^psql /, ''));
    expect(args).toHaveLength(1);
    expect(args[0]).toBe(`host=pam.example.com port=15432 user=alice+orders-db dbname='it\\'s "my" $db\\\\x' sslmode=require`);
    expect(argv(connectLine(user, target('postgres'), 'read', at).command.replace(/^psql /, ''))).toEqual(['host=pam.example.com port=15432 user=alice+orders-db dbname=app sslmode=require']);
  });

  it('keeps an IPv6 host one word', () => {
    const line = connectLine(user, target('ssh'), 'read', { ...at, host: '::1' }).command;
    expect(argv(line)).toEqual(['ssh', '-p', '2222', 'alice+orders-db@::1']);
  });
});
