// The ticket check: a policy may name the ticket system's endpoint (`--ticket-check URL`); before a
// request under it is made (and before auto-approval) the gateway POSTs {ticket, requester, target,
// level, reason} and needs 200 with JSON {valid: true|false, reason?: string}. Fail closed: any
// other answer (status, redirect, not JSON, wrong shape, over 64 KiB), no connection, or no answer
// within the limit refuses the request with a sentence saying which it was.
// The HTTP exchange is a function (TicketHttp) so the rules here are tested without sockets; the
// real one (ticket-http.ts) is node:http(s) with the system CAs (and NODE_EXTRA_CA_CERTS).
import type { TicketCheckResult } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';

export interface TicketQuery { ticket: string; requester: string; target: string; level: string; reason: string }

export interface TicketHttpAnswer {
  status: number;
  /** Up to maxBytes + 1 bytes of the body: more than maxBytes means it was too large. */
  body: Buffer;
}

/** POSTs `json` to `url`; rejects with the socket's error (its `code`) or the signal's abort. Never follows redirects. */
export type TicketHttp = (url: URL, json: string, limits: { maxBytes: number; signal: AbortSignal }) => Promise<TicketHttpAnswer>;

export const TICKET_MAX_BYTES = 64 * 1024;
export const TICKET_TIMEOUT_MS = 5_000;
const REASON_MAX = 200;
const URL_MAX = 2048;

/** A ticket-check URL as a policy may hold it: http or https, no user name or password in it. */
export function checkTicketUrl(text: string): URL {
  const bad = (why: string): never => { throw new PortcullisError('bad-request', `ticket check ${JSON.stringify(text.slice(0, 100))}: ${why}`); };
  if (text.length > URL_MAX) bad(`longer than ${URL_MAX} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad('not a URL; write e.g. https://tickets.example.com/portcullis/check');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad('must be an http:// or https:// URL');
  // Policies are shown to approvers: a secret in the URL would be shown with them.
  if (url.username !== '' || url.password !== '') bad('must not carry a user name or password (let the ticket system trust the gateway\'s address or put a proxy in front)');
  if (url.hash !== '') bad('must not have a #fragment');
  return url;
}

export interface TicketVerdict {
  /** True only for a 200 JSON answer with valid: true. */
  ok: boolean;
  /** Why not: the system answered no ('ticket-invalid') or gave no usable answer ('ticket-check-failed'). */
  code: 'ticket-invalid' | 'ticket-check-failed' | null;
  /** What is stored with the request and audited. */
  result: TicketCheckResult;
  /** For the requester when not ok: why, and that the request was not made. */
  message: string;
}

export class TicketChecker {
  constructor(private readonly http: TicketHttp, private readonly now: () => number, private readonly timeoutMs = TICKET_TIMEOUT_MS) {}

  async check(urlText: string, q: TicketQuery): Promise<TicketVerdict> {
    const url = checkTicketUrl(urlText);
    const host = url.host;
    const seconds = `${Math.round(this.timeoutMs / 100) / 10} s`;
    const fail = (why: string): TicketVerdict => ({
      ok: false, code: 'ticket-check-failed', result: { valid: false, reason: why, url: urlText, checkedAt: this.now() },
      message: `the ticket system at ${host} ${why}; the request was not made`,
    });
    const ctl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => { late = true; resolve('timeout'); ctl.abort(); }, this.timeoutMs);
    });
    let answer: TicketHttpAnswer | 'timeout';
    try {
      const exchange = this.http(url, JSON.stringify(q), { maxBytes: TICKET_MAX_BYTES, signal: ctl.signal });
      // A rejection after the timeout won: nobody waits for it any more.
      exchange.catch(() => {});
      answer = await Promise.race([exchange, timedOut]);
    } catch (err) {
      // The abort at the limit rejects the exchange too: that is the timeout, not a network error.
      return late ? fail(`did not answer within ${seconds}`) : fail(`could not be reached (${socketWords(err)})`);
    } finally {
      clearTimeout(timer);
      ctl.abort();
    }
    if (answer === 'timeout') return fail(`did not answer within ${seconds}`);
    if (answer.status >= 300 && answer.status < 400) return fail(`answered with a redirect (HTTP ${answer.status}), which is not followed`);
    if (answer.status !== 200) return fail(`answered HTTP ${answer.status}, not 200`);
    if (answer.body.length > TICKET_MAX_BYTES) return fail('answered with more than 64 KiB');
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(answer.body));
    } catch {
      return fail('did not answer JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { valid?: unknown }).valid !== 'boolean') {
      return fail('answered without {"valid": true|false}');
    }
    const { valid, reason } = parsed as { valid: boolean; reason?: unknown };
    if (reason !== undefined && reason !== null && typeof reason !== 'string') return fail('answered a "reason" that is not a string');
    const said = typeof reason === 'string' ? cleanText(reason, REASON_MAX) || null : null;
    const result: TicketCheckResult = { valid, reason: said, url: urlText, checkedAt: this.now() };
    if (valid) return { ok: true, code: null, result, message: '' };
    return {
      ok: false, code: 'ticket-invalid', result,
      message: `the ticket system at ${host} says ticket ${cleanText(q.ticket, 64)} is not valid for this request${said ? `: ${said}` : ''}; the request was not made`,
    };
  }
}

/** A socket error in words (its code only: messages can carry addresses and paths). */
function socketWords(err: unknown): string {
  const code = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : '';
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'its name does not resolve';
    case 'ECONNRESET': case 'EPIPE': return 'the connection was reset';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'no route to it';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'SELF_SIGNED_CERT_IN_CHAIN': case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return `its TLS certificate is not trusted: ${code}; add its CA with NODE_EXTRA_CA_CERTS`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return 'its TLS certificate is for another name';
    case 'CERT_HAS_EXPIRED': return 'its TLS certificate has expired';
    default: return code && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'network error';
  }
}

// C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings, overrides and isolates, and
// zero-width marks: the reason is shown in terminals, the console and webhooks.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]+/g;

/** Text from elsewhere made safe to show: unsafe characters become a space, trimmed, bounded. */
export function cleanText(text: string, max: number): string {
  const clean = text.slice(0, max * 4).replace(UNSAFE, ' ').replace(/ {2,}/g, ' ').trim();
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}
