// A PostgreSQL impostor that plays SCRAM-SHA-256 without knowing the password and sends a made-up
// server signature (SASLFinal) before AuthenticationOk.
import { randomBytes } from 'node:crypto';
import { auth, loggedIn, type PgImpostor, scramServerFirst, startPgImpostor } from './pg-impostor.js';

export const startPgScramWrongSignatureImpostor = (): Promise<PgImpostor> => startPgImpostor(async (c) => {
  c.send(auth(10, Buffer.from('SCRAM-SHA-256\0\0')));
  const first = await c.next();
  if (first?.type !== 'p') return;
  c.send(auth(11, Buffer.from(scramServerFirst(first.body).serverFirst)));
  if ((await c.next())?.type !== 'p') return;
  c.send(auth(12, Buffer.from(`v=${randomBytes(32).toString('base64')}`)), loggedIn());
  await c.drain();
});
