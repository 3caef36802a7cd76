// A flag's detail comes from what the user sent (a statement, a command line) or the client's
// address string: it is shown in the console, chat webhooks and logs. Control characters (a
// terminal escape in an address or a command) become spaces, and it is bounded.
export const MAX_DETAIL = 200;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A password in a statement or command (`ALTER ROLE x PASSWORD '...'`, `IDENTIFIED BY '...'`,
 * `SET PASSWORD FOR u = PASSWORD('...')`, `mysql -pSECRET`, `--password=...`): the recording keeps
 * the statement, but a flag's detail, a gated statement's audit entry and log line travel further
 * (chat webhooks, logs, the audit export), so the value is left out there. A value is the whole
 * literal however it is quoted (E'..', U&'..', $tag$..$tag$, "..", PASSWORD('..')): a space inside
 * it must not leave its second half in plain sight.
 */
const LITERAL = String.raw`(?:[EeUuBbXxNn]&?)?'(?:[^'\\]|''|\\[\s\S])*'?|"[^"]*"?|\$(?:[A-Za-z_]\w*)?\$[\s\S]*?(?:\$(?:[A-Za-z_]\w*)?\$|$)`;
const SECRET = new RegExp(
  String.raw`\b(password\b(?:\s+for\s+[^=;]+?(?=\s*=))?|identified\s+(?:(?:with|via)\s+\S+\s+)?(?:by|as|using)\b(?:\s+password\b)?)(\s*=?\s*)` +
  `(${LITERAL}|\\w*\\(\\s*(?:${LITERAL})?\\s*\\)?|\\S+)|(\\s-p)(\\S+)|(--password[= ])(\\S+)`, 'gi');

export function redactSecrets(text: string): string {
  return text.replace(SECRET, (...m: unknown[]) => {
    const [, kw, sep, , p, , lp] = m as Array<string | undefined>;
    return kw !== undefined ? `${kw}${sep ?? ' '}'…'` : p !== undefined ? `${p}…` : `${lp ?? ''}…`;
  });
}

export function flagDetail(text: string, max = MAX_DETAIL): string {
  const clean = redactSecrets(text.slice(0, max * 4)).replace(CONTROL, ' ');
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}
