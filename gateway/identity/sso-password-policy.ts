// `oidc.local_passwords: false`: people sign in through the identity provider. A password still
// signs in the break-glass admins — local accounts (not made by a single sign-on) with the admin
// role — so the gateway stays manageable when the provider is down. Sign-ins are covered (web,
// API login, SSH password and keyboard-interactive, and database logins: those users' database
// logins take only the grant's one-time password, `portcullis db-password`, never the account
// password); changing one's own password is not a sign-in.
import type { PasswordPolicy } from '../access/authn.js';
import type { OidcConfig } from './oidc-config.js';

const SIGN_INS = new Set(['web-password', 'api-password', 'ssh-password', 'ssh-keyboard-interactive', 'database-password']);

export function passwordPolicy(settings: OidcConfig | null): PasswordPolicy {
  if (settings === null || settings.local_passwords) return () => null;
  return (user, method) => {
    if (!SIGN_INS.has(method)) return null;
    if (user.source === 'local' && user.roles.includes('admin')) return null;
    return `password sign-in is off here: sign in with single sign-on (the console's "Sign in with ${settings.label}" button, or portcullis login --sso)`;
  };
}
