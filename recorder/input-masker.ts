// Decides which keystrokes may be recorded. After output that ends in a password-like prompt
// ("Password:", "passphrase", "[sudo] password for x:", "Verification code:", "PIN:"), input up to
// and including the next Enter is masked: each character becomes "*", and the span is flagged.
// Pure: sees output text and input text, returns what viewers may see and, apart, the masked text
// itself. The decision reads output the user controls (`PS1='Password: '` masks every command), so
// it only decides what is *shown*: the recorder seals the masked text (masked-spans.ts), it never
// drops it.

const PROMPT = /(?:password|passphrase|verification code|\bpin\b|one-time code|otp)[^\n]{0,40}[:?]\s*$/i;
const TAIL = 256;
// CSI sequences and OSC strings; built from a string so the control characters are explicit.
// eslint-disable-next-line no-control-regex -- matching terminal escape sequences is the point
const ANSI = new RegExp('\u001b\\[[0-9;?]*[A-Za-z]|\u001b\\][^\u0007]*\u0007', 'g');

export interface MaskedInput {
  text: string;
  /** True when any of this input was masked. */
  masked: boolean;
  /** True when this input starts a masked span (record a marker once). */
  started: boolean;
  /** The masked part of the input as typed (empty when nothing was masked): to be sealed, never shown. */
  secret: string;
}

export class InputMasker {
  private tail = '';
  private masking = false;
  private inSpan = false;

  output(text: string): void {
    this.tail = (this.tail + text).slice(-TAIL);
    // Strip ANSI sequences before matching: prompts are often coloured or follow cursor moves.
    const plain = this.tail.replace(ANSI, '');
    if (PROMPT.test(plain)) this.masking = true;
  }

  input(text: string): MaskedInput {
    if (!this.masking) return { text, masked: false, started: false, secret: '' };
    const started = !this.inSpan;
    this.inSpan = true;
    let out = '';
    let i = 0;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\r' || ch === '\n') {
        out += ch;
        this.masking = false;
        this.inSpan = false;
        this.tail = '';
        i++;
        break;
      }
      out += ch === '\x7f' || ch === '\b' ? ch : '*';
    }
    return { text: out + text.slice(i), masked: true, started, secret: text.slice(0, i) };
  }
}
