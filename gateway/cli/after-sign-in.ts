// What every way of signing in from the CLI does once the login (token) is saved: the one place
// a password login and a single sign-on both end, so what a sign-in leaves behind (the SSH key
// and certificate of issue 18) is written once. Filled by the SSH certificate work.
import type { CommandContext } from './command.js';
import type { StoredLogin } from './connection.js';

export async function afterSignIn(_c: CommandContext, _login: StoredLogin): Promise<void> {
  // The SSH certificate step lands here.
}
