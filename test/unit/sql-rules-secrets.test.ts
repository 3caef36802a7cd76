// Passwords in statements stay out of what travels beyond the recording (flag details to chat
// webhooks and logs, gated statements' audit entries and log lines), however the value is quoted:
// a value with a space, an E'' or dollar-quoted string, MySQL's SET PASSWORD FOR and PASSWORD().
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../gateway/risk/flag-detail.js';

describe('passwords left out of details, audit entries and logs', () => {
  const cases: Array<[string, string]> = [
    ["ALTER ROLE bob PASSWORD 'hunter2' VALID UNTIL 'x'", 'hunter2'],
    ["ALTER ROLE bob PASSWORD E'my secret\\' pass'", 'secret'],
    ['ALTER ROLE bob PASSWORD $p$my secret$p$', 'secret'],
    ['ALTER ROLE bob PASSWORD $$correct horse$$ LOGIN', 'horse'],
    ["ALTER ROLE bob WITH ENCRYPTED PASSWORD U&'a b'", 'b\''],
    ["SET PASSWORD FOR 'bob'@'%' = PASSWORD('my secret')", 'secret'],
    ["SET PASSWORD FOR bob@localhost = 'two words'", 'words'],
    ["CREATE USER bob IDENTIFIED BY 'two words'", 'words'],
    ["CREATE USER bob IDENTIFIED BY PASSWORD '*ABCDEF0123'", 'ABCDEF'],
    ["ALTER USER bob IDENTIFIED VIA ed25519 USING PASSWORD('s3cr et')", 'et'],
    ['mysql -pSECRET -h db', 'SECRET'],
    ['psql --password=abc', 'abc'],
  ];
  it.each(cases)('%s', (text, secret) => {
    const out = redactSecrets(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('…');
  });
  it('leaves what is not a password alone', () => {
    expect(redactSecrets('select * from users where password_hash is null')).toBe('select * from users where password_hash is null');
    expect(redactSecrets("ALTER ROLE bob PASSWORD 'x' VALID UNTIL '2030-01-01'")).toBe("ALTER ROLE bob PASSWORD '…' VALID UNTIL '2030-01-01'");
  });
});
