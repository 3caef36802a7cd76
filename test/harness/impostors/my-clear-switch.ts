// A MySQL impostor that switches the login mid-way to mysql_clear_password (AuthSwitchRequest), a
// plugin that sends the password itself, and says the login worked whatever it gets.
import { type MyImpostor, startMyImpostor } from './my-impostor.js';

export const startMyClearSwitchImpostor = (): Promise<MyImpostor> => startMyImpostor(async (c) => {
  c.send(Buffer.from('\xfemysql_clear_password\0', 'latin1'));
  if (!(await c.next())) return;
  await c.serveCommands();
});
