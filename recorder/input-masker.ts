// Decides which keystrokes may be recorded. After output that ends in a password-like prompt
// ("Password:", "passphrase", "[sudo] password for x:", "Verification code:", "PIN:"), input up to
// and including the next Enter is masked: each character becomes "*", and the span is flagged.
// Pure: sees output text and input text, returns what to record.

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
}

export class InputMasker {
  private tail = '';
  private masking = false;

  output(text: string): void {
    this.tail = (this.tail + text).slice(-TAIL);
    // Strip ANSI sequences before matching: prompts are often coloured or follow cursor moves.
    const plain = this.tail.replace(ANSI, '');
    if (PROMPT.test(plain)) this.masking = true;
  }

  input(text: string): MaskedInput {
    if (!this.masking) return { text, masked: false, started: false };
    let out = '';
    let i = 0;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\r' || ch === '\n') {
        out += ch;
        this.masking = false;
        this.tail = '';
        i++;
        break;
      }
      out += ch === '\x7f' || ch === '\b' ? ch : '*';
    }
    return { text: out + text.slice(i), masked: true, started: true };
  }
}
