// Text bound for a terminal that came from somewhere else: names read from targets (discovery
// lists whatever accounts exist there) and from the store. A name carrying a newline, a carriage
// return, an escape sequence or a bidi override could forge a table row, hide one, or drive the
// terminal; each such character is written as a visible \uXXXX escape instead.

// C0 controls, DEL, C1 controls, line and paragraph separators, bidi embeddings/overrides/isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(s: string): string {
  return s.replace(UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
