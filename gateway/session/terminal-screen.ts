// What the user's terminal shows, kept in a headless xterm fed with the target's output, so the
// gateway can read the line the user submits at a prompt as the shell drew it (after arrows,
// history, tab completion, reverse search), not as the keys were typed. Remembers where the prompt
// ended when the user started the line (a marker on that row plus the prompt's text, for a redraw
// elsewhere such as Ctrl-L), and reads from there to the end of the logical (wrapped) line holding
// the cursor. Scrollback 0: only the screen is kept (memory per session, see README).
// Does not decide anything and never sees input: keystrokes are not fed to it.
import headlessPkg from '@xterm/headless';
import type { IMarker, Terminal as HeadlessTerminal } from '@xterm/headless';

// CommonJS package: Node's ESM loader only gives it a default export.
const { Terminal } = headlessPkg;

/** Rows above the cursor a submitted line may start on (a multi-line paste); beyond, the prompt is taken as lost. */
const MAX_LINE_ROWS = 64;
// bash/readline incremental search redraws the prompt as "(reverse-i-search)`rm': rm -rf /tmp/x".
const SEARCH = /^\((?:failed )?(?:reverse|fwd|i)-i-search\)`[^']*': (.*)$/s;

export interface ScreenLine {
  /** From the prompt's end to the end of the cursor's logical line; the whole line when the prompt was lost. */
  afterPrompt: string;
  /** The cursor's whole logical line, prompt included. */
  whole: string;
  /** The matched line when the shell is in incremental history search, else null. */
  searched: string | null;
  /** The cursor's logical line without the remembered prompt's text when it starts with it (the prompt redrawn: Ctrl-L, Ctrl-C, typed ahead). */
  afterSamePrompt: string | null;
}

export class TerminalScreen {
  private readonly term: HeadlessTerminal;
  private marker: IMarker | null = null;
  private promptX = 0;
  /** The prompts of the last few lines (a prompt typed ahead of is not the one the line ends up after). */
  private prompts: string[] = [];

  constructor(cols: number, rows: number) {
    this.term = new Terminal({ cols: Math.max(1, cols), rows: Math.max(1, rows), scrollback: 0, allowProposedApi: true });
  }

  output(bytes: Uint8Array): void {
    this.term.write(bytes);
  }

  resize(cols: number, rows: number): void {
    this.term.resize(Math.max(1, cols), Math.max(1, rows));
  }

  /** Calls `fn` once the output written so far has been parsed (and before any written later). */
  settled(fn: () => void): void {
    this.term.write('', fn);
  }

  /** A full-screen program (editor, pager, top) is on the alternate screen: its Enter is not a command line. */
  get fullScreen(): boolean {
    return this.term.buffer.active.type === 'alternate';
  }

  /** The user starts typing a line: where the cursor is now is the end of the prompt. Call once settled. */
  markLineStart(): void {
    this.marker?.dispose();
    const b = this.term.buffer.active;
    this.marker = this.term.registerMarker(0) ?? null;
    this.promptX = b.cursorX;
    const prompt = b.getLine(b.baseY + b.cursorY)?.translateToString(false, 0, b.cursorX) ?? '';
    if (prompt.trim() !== '' && !this.prompts.includes(prompt)) this.prompts = [prompt, ...this.prompts].slice(0, 4);
  }

  /** The submitted line as the screen shows it. Call once settled. */
  readLine(): ScreenLine {
    const b = this.term.buffer.active;
    const row = b.baseY + b.cursorY;
    let start = row;
    while (start > 0 && b.getLine(start)?.isWrapped) start--;
    let end = row;
    while (end + 1 < b.length && b.getLine(end + 1)?.isWrapped) end++;
    const whole = this.text(start, 0, end);
    const m = this.marker;
    let afterPrompt: string | undefined;
    if (m && !m.isDisposed && m.line >= 0 && m.line <= end && end - m.line <= MAX_LINE_ROWS) afterPrompt = this.text(m.line, this.promptX, end);
    const known = this.prompts.filter((p) => whole.startsWith(p)).sort((a, b2) => b2.length - a.length)[0];
    const samePrompt = known === undefined ? null : whole.slice(known.length).trimEnd();
    if (afterPrompt === undefined) afterPrompt = samePrompt ?? whole;
    const s = SEARCH.exec(whole);
    return { afterPrompt: afterPrompt.trimEnd(), whole: whole.trimEnd(), searched: s ? s[1]!.trimEnd() : null, afterSamePrompt: samePrompt };
  }

  dispose(): void {
    this.marker?.dispose();
    this.term.dispose();
  }

  /** Rows from..to as text: wrapped rows joined as one line, a row that starts a new line after a newline. */
  private text(from: number, fromX: number, to: number): string {
    const b = this.term.buffer.active;
    let out = '';
    for (let y = from; y <= to; y++) {
      const line = b.getLine(y);
      if (!line) break;
      if (y > from && !line.isWrapped) out = out.trimEnd() + '\n';
      // A row continued on the next one keeps its trailing blanks (they are part of the line).
      const continued = b.getLine(y + 1)?.isWrapped === true && y < to;
      out += line.translateToString(!continued, y === from ? fromX : 0);
    }
    return out;
  }
}
