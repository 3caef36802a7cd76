// Messages the gateway itself sends to a PostgreSQL client (backend messages it originates):
// authentication requests, errors and notices with real SQLSTATEs, parameter status, key data,
// ready-for-query. Everything else the client sees is relayed verbatim from the target.

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

export const authOk = (): Buffer => message('R', int32(0));
export const authSasl = (mechanisms: string[]): Buffer => message('R', Buffer.concat([int32(10), ...mechanisms.map(cstr), Buffer.from([0])]));
export const authSaslContinue = (data: string): Buffer => message('R', Buffer.concat([int32(11), Buffer.from(data)]));
export const authSaslFinal = (data: string): Buffer => message('R', Buffer.concat([int32(12), Buffer.from(data)]));
export const parameterStatus = (name: string, value: string): Buffer => message('S', Buffer.concat([cstr(name), cstr(value)]));
export const backendKeyData = (pid: number, key: Buffer): Buffer => message('K', Buffer.concat([int32(pid), key]));
export const readyForQuery = (status: 'I' | 'T' | 'E'): Buffer => message('Z', Buffer.from(status, 'latin1'));

export type Severity = 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING';

/** ErrorResponse ('E') or NoticeResponse ('N') with severity, SQLSTATE, message and an optional hint. */
export function errorOrNotice(type: 'E' | 'N', severity: Severity, code: string, text: string, hint?: string): Buffer {
  const fields = [Buffer.from('S'), cstr(severity), Buffer.from('V'), cstr(severity), Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(text)];
  if (hint) fields.push(Buffer.from('H'), cstr(hint));
  fields.push(Buffer.from([0]));
  return message(type, Buffer.concat(fields));
}

export const fatal = (code: string, text: string, hint?: string): Buffer => errorOrNotice('E', 'FATAL', code, text, hint);
export const notice = (text: string): Buffer => errorOrNotice('N', 'NOTICE', '01000', text);

/** Fields of an ErrorResponse/NoticeResponse body. */
export function parseErrorFields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < body.length && body[off] !== 0) {
    const code = String.fromCharCode(body[off]!);
    const end = body.indexOf(0, off + 1);
    if (end < 0) break;
    out[code] = body.toString('utf8', off + 1, end);
    off = end + 1;
  }
  return out;
}
