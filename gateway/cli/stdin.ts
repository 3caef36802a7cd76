// Secrets come from standard input only (never argv, which other users can read in /proc).
export async function readStdinLines(stdin: NodeJS.ReadableStream = process.stdin, maxBytes = 1 << 20): Promise<string[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > maxBytes) throw new Error('standard input is too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
}

export async function readStdinAll(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  return (await readStdinLines(stdin)).join('\n');
}
