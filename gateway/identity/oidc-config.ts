// The `oidc:` section of the configuration (DESIGN 3e): checked and normalised at load, with errors
// that name the key. The client secret stays in its file: the config holds the file's path only (so
// `serve --print-config` cannot show it); the file is checked here and read when the client is built.
import { readFileSync, statSync } from 'node:fs';
import { checkName } from '../access/names.js';
import { parseDuration } from '../util/duration.js';
import { PortcullisError } from '../util/errors.js';

export interface OidcConfig {
  /** The identity provider's issuer URL (https); its discovery document is at ISSUER/.well-known/openid-configuration. */
  issuer: string;
  client_id: string;
  /** A file holding the client secret (client_secret_basic); never the secret itself. */
  client_secret_file: string;
  /** The ID token (or userinfo) claim that lists the user's groups. */
  groups_claim: string;
  /** Group → Portcullis roles. Groups not named here give no role. */
  roles: Record<string, string[]>;
  /** false: password sign-in only for local admins (break-glass); everyone else uses single sign-on. */
  local_passwords: boolean;
  /** Scopes asked for; "openid" is always added. */
  scopes: string[];
  /** PEM file of the CA that signed the provider's certificate, when it is not a public one. */
  ca_file: string | null;
  /** How often a sign-in's groups are asked again with its refresh token. */
  refresh_every: string;
  /** The sign-in button's words: "Sign in with LABEL". */
  label: string;
}

const KEYS = ['issuer', 'client_id', 'client_secret_file', 'groups_claim', 'roles', 'local_passwords', 'scopes', 'ca_file', 'refresh_every', 'label'];
const MAX_SECRET = 4096;

const bad = (msg: string): PortcullisError => new PortcullisError('bad-request', `oidc.${msg}`);

/** The raw `oidc:` value (YAML) → settings; null stays null (single sign-on off). */
export function oidcSettings(raw: unknown): OidcConfig | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new PortcullisError('bad-request', 'oidc must be a mapping (issuer, client_id, client_secret_file, roles, ...)');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw new PortcullisError('bad-request', `unknown key "oidc.${k}" (known: ${KEYS.join(', ')})`);
  const issuer = text(o, 'issuer');
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw bad(`issuer "${issuer.slice(0, 100)}" is not a URL`);
  }
  if (url.protocol !== 'https:' || url.search || url.hash || url.username || url.password) throw bad('issuer must be an https:// URL without query, fragment or credentials');
  const secretFile = text(o, 'client_secret_file');
  readClientSecret(secretFile);
  const caFile = o.ca_file === undefined || o.ca_file === null ? null : text(o, 'ca_file');
  if (caFile !== null) {
    const pem = readable(caFile, 'ca_file');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw bad(`ca_file ${caFile} holds no PEM certificate`);
  }
  const refresh = o.refresh_every === undefined ? '5m' : text(o, 'refresh_every');
  let ms = 0;
  try {
    ms = parseDuration(refresh);
  } catch {
    throw bad(`refresh_every "${refresh.slice(0, 40)}" is not a duration like 5m`);
  }
  if (ms < 1000 || ms > 24 * 3_600_000) throw bad('refresh_every must be between 1s and 24h');
  const local = o.local_passwords === undefined ? true : o.local_passwords;
  if (typeof local !== 'boolean') throw bad('local_passwords must be true or false');
  const scopes = o.scopes === undefined ? ['openid', 'profile', 'email'] : o.scopes;
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) throw bad('scopes must be a list of scope names');
  return {
    issuer, client_id: text(o, 'client_id'), client_secret_file: secretFile,
    groups_claim: o.groups_claim === undefined ? 'groups' : text(o, 'groups_claim'),
    roles: roleMap(o.roles), local_passwords: local, scopes: [...new Set(['openid', ...(scopes as string[])])], ca_file: caFile, refresh_every: refresh,
    label: o.label === undefined ? 'single sign-on' : text(o, 'label'),
  };
}

/** The client secret, from its file (trailing newline trimmed). Throws naming the file, never the content. */
export function readClientSecret(file: string): string {
  const secret = readable(file, 'client_secret_file').replace(/\r?\n$/, '');
  if (secret.length === 0 || secret.length > MAX_SECRET || /[\r\n]/.test(secret)) throw bad(`client_secret_file ${file} must hold the client secret on one line`);
  return secret;
}

function readable(file: string, key: string): string {
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    return readFileSync(file, 'utf8');
  } catch {
    throw bad(`${key}: cannot read ${file}`);
  }
}

function text(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.trim() === '' || v.length > 2048) throw bad(`${key} is required and must be text`);
  return v.trim();
}

function roleMap(raw: unknown): Record<string, string[]> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('roles must map groups to a role or a list of roles, e.g. { ops-team: ops, security: [investigator, approver] }');
  const out: Record<string, string[]> = {};
  for (const [group, v] of Object.entries(raw as Record<string, unknown>)) {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.length === 0 || !list.every((r) => typeof r === 'string')) throw bad(`roles."${group}" must be a role or a list of roles`);
    for (const r of list) {
      try {
        checkName('role', r);
      } catch (e) {
        throw bad(`roles."${group}": ${(e as Error).message}`);
      }
    }
    out[group] = [...new Set(list)];
  }
  return out;
}

/** The roles a set of groups maps to, sorted, without duplicates. */
export function rolesFor(groups: readonly string[], map: Record<string, string[]>): string[] {
  const roles = new Set<string>();
  for (const g of groups) for (const r of Object.hasOwn(map, g) ? map[g]! : []) roles.add(r);
  return [...roles].sort();
}
