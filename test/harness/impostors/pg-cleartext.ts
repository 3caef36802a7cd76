// A PostgreSQL impostor that asks for the password in cleartext (AuthenticationCleartextPassword)
// and, if it gets one, says the login worked.
import { auth, loggedIn, type PgImpostor, startPgImpostor } from './pg-impostor.js';

export const startPgCleartextImpostor = (): Promise<PgImpostor> => startPgImpostor(async (c) => {
  c.send(auth(3));
  if ((await c.next())?.type === 'p') c.send(loggedIn());
  await c.drain();
});
