// Commands as they may be shown in messages, records and logs: control characters (NUL, ESC, CR,
// C1), and invisible or direction-changing Unicode are written as escapes, so a command cannot
// rewrite the admin's terminal or hide part of itself; everything else is kept as sent.

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/gu;

export function printable(text: string, max = 200): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const out = cut.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
  return text.length > max ? out + '…' : out;
}
