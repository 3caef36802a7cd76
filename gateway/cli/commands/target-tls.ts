// The TLS side of `portcullis target`: `fetch-cert` (the certificate a database server presents,
// fetched by the gateway, which is where the connection will come from), the pin question `target
// add` asks on a terminal when no way to verify was given, and the short pin `target list` shows.
// It decides nothing about verification itself (net/tls-verdict.ts and the gateway do); it only
// makes sure a database target is never added without the admin choosing how it is verified.
import { readFileSync } from 'node:fs';
import type { CertificateView } from '../../api-types.js';
import { shortFingerprint } from '../../net/tls-verdict.js';
import { PortcullisError } from '../../util/errors.js';
import type { CommandContext } from '../command.js';
import { printOne } from '../output.js';

/** The TLS fields of a `target add` body (API names). */
export interface TlsBody {
  tls?: string;
  tls_ca?: string;
  tls_fingerprint?: string;
  allow_weak_upstream_auth: boolean;
}

export function fetchCert(c: CommandContext, kind: string, host: string, port: string | undefined, caFile?: string): Promise<CertificateView> {
  return c.api().post<CertificateView>('/api/v1/fetch-cert', {
    kind, host, port: port ? Number(port) : undefined, tls_ca: caFile ? readFileSync(caFile, 'utf8') : undefined,
  });
}

export async function fetchCertCmd(c: CommandContext): Promise<number> {
  const cert = await fetchCert(c, c.flags.req('kind', 'postgres or mysql'), c.flags.req('host'), c.flags.opt('port'), c.flags.opt('tls-ca'));
  if (c.json) printOne(c.out, true, cert);
  else c.out.write(describe(cert));
  return 0;
}

function describe(cert: CertificateView): string {
  return [
    `subject:     ${cert.subject}`,
    `issuer:      ${cert.issuer}`,
    `names:       ${cert.sans.join(', ') || '(none)'}`,
    `valid:       ${cert.valid_from} to ${cert.valid_to}`,
    `fingerprint: ${cert.fingerprint}`,
    `trusted:     ${cert.trusted ? 'yes, the chain verifies' : `no (${cert.chain_error ?? 'unverified'})`}${cert.trusted ? (cert.name_matches ? ' and the name matches' : ', but it is not for this host') : ''}`,
    '',
  ].join('\n');
}

/**
 * The TLS settings for `target add`. A database target given none of --tls, --tls-ca and
 * --tls-fingerprint gets its certificate fetched, shown and pinned when the admin says yes at the
 * terminal; with nobody to ask, the add fails naming the choices.
 */
export async function tlsBodyForAdd(c: CommandContext, kind: string, host: string, port: string | undefined): Promise<TlsBody> {
  const caFile = c.flags.opt('tls-ca');
  const body: TlsBody = {
    tls: c.flags.opt('tls'), tls_ca: caFile ? readFileSync(caFile, 'utf8') : undefined, tls_fingerprint: c.flags.opt('tls-fingerprint'),
    allow_weak_upstream_auth: c.flags.bool('allow-weak-upstream-auth'),
  };
  if (kind === 'ssh' || body.tls !== undefined || body.tls_ca !== undefined || body.tls_fingerprint !== undefined) return body;
  const choices = `give --tls-fingerprint sha256:... (see: portcullis target fetch-cert --kind ${kind} --host ${host}${port ? ` --port ${port}` : ''}), ` +
    '--tls-ca FILE (its CA), --tls verify-full (trust the system CAs), or --tls disable (no TLS: the password is then protected by the login method alone)';
  const ask = (q: string): Promise<string | null> => c.ask(q);
  const cert = await fetchCert(c, kind, host, port).catch((e: unknown) => {
    throw new PortcullisError('bad-request', `cannot fetch the server's TLS certificate (${e instanceof Error ? e.message : String(e)}); ${choices}`);
  });
  const answer = await ask(`${describe(cert)}Pin this certificate for ${host}? Only say yes if the fingerprint is the server's own. [y/N] `);
  if (answer === null) throw new PortcullisError('bad-request', `a database target needs a way to verify its server's TLS certificate: ${choices}`);
  if (!/^y(es)?$/i.test(answer.trim())) throw new PortcullisError('bad-request', `not pinned, target not added; ${choices}`);
  return { ...body, tls_fingerprint: cert.fingerprint };
}

/** `target list`: the pin in short. */
export function withShortPin<T extends { tls_fingerprint?: string | null; kind?: string }>(rows: T[]): Array<T & { tls_pin: string }> {
  return rows.map((r) => ({ ...r, tls_pin: r.tls_fingerprint ? shortFingerprint(r.tls_fingerprint) : '-' }));
}
