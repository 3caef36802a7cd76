// A PostgreSQL impostor that plays SCRAM-SHA-256 without knowing the password: it answers the
// client-final message with AuthenticationOk straight away, skipping the server signature
// (SASLFinal) it cannot compute.
import { auth, loggedIn, type PgImpostor, scramServerFirst, startPgImpostor } from './pg-impostor.js';

export const startPgScramNoFinalImpostor = (): Promise<PgImpostor> => startPgImpostor(async (c) => {
  c.send(auth(10, Buffer.from('SCRAM-SHA-256\0\0')));
  const first = await c.next();
  if (first?.type !== 'p') return;
  c.send(auth(11, Buffer.from(scramServerFirst(first.body).serverFirst)));
  if ((await c.next())?.type !== 'p') return;
  c.send(loggedIn());
  await c.drain();
});
