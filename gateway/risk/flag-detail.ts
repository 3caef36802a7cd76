// A flag's detail comes from what the user sent (a statement, a command line) or the client's
// address string: it is shown in the console, chat webhooks and logs. Control characters (a
// terminal escape in an address or a command) become spaces, and it is bounded.
export const MAX_DETAIL = 200;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A password in a statement or command (`ALTER ROLE x PASSWORD '...'`, `IDENTIFIED BY '...'`,
 * `mysql -pSECRET`, `--password=...`): the recording keeps the statement, but a flag's detail
 * travels further (chat webhooks, logs), so the value is left out there.
 */
const SECRET = /\b(password|identified\s+(?:with\s+\S+\s+)?by)\b(\s*=?\s*)('(?:[^']|'')*'?|"[^"]*"?|\S+)|(\s-p)(\S+)|(--password[= ])(\S+)/gi;

export function redactSecrets(text: string): string {
  return text.replace(SECRET, (_m, kw?: string, sep?: string, _v?: string, p?: string, _pv?: string, lp?: string) =>
    kw !== undefined ? `${kw}${sep ?? ' '}'…'` : p !== undefined ? `${p}…` : `${lp ?? ''}…`);
}

export function flagDetail(text: string, max = MAX_DETAIL): string {
  const clean = redactSecrets(text.slice(0, max * 4)).replace(CONTROL, ' ');
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}
