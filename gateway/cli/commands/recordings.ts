// session show, export and play: recordings through the API (so every view is audited).
import { parseEvent, parseHeader } from '../../../recorder/asciicast-reader.js';
import { type Command, type CommandContext, enc, usage } from '../command.js';
import { printOne } from '../output.js';

interface SessionDetail { id: string; recording: Array<{ file: string; bytes: number }> }

async function castText(c: CommandContext, id: string): Promise<string> {
  const detail = await c.api().get<SessionDetail>(`/api/v1/sessions/${enc(id)}`);
  const channel = c.flags.opt('channel');
  const casts = detail.recording.filter((f) => f.file.endsWith('.cast'));
  const pick = channel ? casts.find((f) => f.file === `ch-${channel}.cast`) : casts[0];
  if (!pick) {
    const what = casts.length === 0 ? 'no terminal recording (database sessions have statements: portcullis session show)' : `no channel ${channel}; it has ${casts.map((f) => f.file).join(', ')}`;
    throw new Error(`session ${id} has ${what}`);
  }
  return c.api().text(`/api/v1/sessions/${enc(id)}/recording/${pick.file}`);
}

export const sessionShowCmd: Command = async (c) => {
  const id = c.flags.positionals[1];
  if (!id) usage('portcullis session show ID');
  printOne(c.out, c.json, await c.api().get(`/api/v1/sessions/${enc(id)}`));
  return 0;
};

export const exportCmd: Command = async (c) => {
  const id = c.flags.positionals[0];
  if (!id) usage('portcullis export ID [--channel N] > session.cast');
  c.out.write(await castText(c, id));
  return 0;
};

export const playCmd: Command = async (c) => {
  const id = c.flags.positionals[0];
  if (!id) usage('portcullis play ID [--speed X] [--skip-idle] [--channel N]');
  const speed = Number(c.flags.opt('speed') ?? 1);
  if (!(speed > 0 && speed <= 1000)) usage('portcullis play ID --speed X   (X between 0 and 1000)');
  const skipIdle = c.flags.bool('skip-idle');
  const lines = (await castText(c, id)).split('\n').filter(Boolean);
  parseHeader(lines[0] ?? '');
  let last = 0;
  for (const line of lines.slice(1)) {
    const e = parseEvent(line);
    if (!e || e[1] !== 'o') continue;
    // Idle gaps are capped at half a second with --skip-idle.
    const gap = Math.max(0, e[0] - last);
    last = e[0];
    const wait = (skipIdle ? Math.min(gap, 0.5) : gap) / speed;
    if (wait > 0.001) await new Promise((r) => setTimeout(r, wait * 1000));
    c.out.write(e[2]);
  }
  return 0;
};
