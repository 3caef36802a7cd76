// A PostgreSQL impostor that asks for MD5 password authentication (whose answer logs in as the
// account wherever the same salt is asked) and, if it gets an answer, says the login worked.
import { auth, loggedIn, type PgImpostor, startPgImpostor } from './pg-impostor.js';

export const MD5_SALT = Buffer.from([0x11, 0x22, 0x33, 0x44]);

export const startPgMd5Impostor = (): Promise<PgImpostor> => startPgImpostor(async (c) => {
  c.send(auth(5, MD5_SALT));
  if ((await c.next())?.type === 'p') c.send(loggedIn());
  await c.drain();
});
