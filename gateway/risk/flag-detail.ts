// A flag's detail comes from what the user sent (a statement, a command line) or the client's
// address string: it is shown in the console, chat webhooks and logs. Control characters (a
// terminal escape in an address or a command) become spaces, and it is bounded.
export const MAX_DETAIL = 200;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function flagDetail(text: string, max = MAX_DETAIL): string {
  const clean = text.slice(0, max * 4).replace(CONTROL, ' ');
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}
