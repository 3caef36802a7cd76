// One session's SQL-level prepared statements (PostgreSQL `PREPARE name AS ...`, MySQL `PREPARE
// name FROM 'literal'`), as the rules saw
// them: an `EXECUTE name` is read again as its PREPARE under the rules of now, so a deny rule added
// after the PREPARE still stops it (the protocol-level equivalent is postgres/prepared-texts.ts).
// Every text prepared under a name is kept (a failed re-PREPARE leaves the old one at the server;
// DEALLOCATE is not followed); bounded: once a name had to be dropped, an EXECUTE of a name not
// held is unparsable (the gateway can no longer say what it runs).

const MAX_NAMES = 1000;
const MAX_TEXTS_PER_NAME = 16;

export class PreparedSql {
  private readonly byName = new Map<string, string[]>();
  private overflowed = false;

  get empty(): boolean {
    return this.byName.size === 0 && !this.overflowed;
  }

  prepared(name: string, text: string): void {
    const have = this.byName.get(name);
    if (have) {
      if (!have.includes(text)) have.push(text);
      if (have.length > MAX_TEXTS_PER_NAME) { this.byName.delete(name); this.overflowed = true; }
      return;
    }
    this.byName.set(name, [text]);
    if (this.byName.size > MAX_NAMES) { this.byName.delete(this.byName.keys().next().value as string); this.overflowed = true; }
  }

  /** The texts prepared under a name; null when it may have been dropped. */
  texts(name: string): readonly string[] | null {
    return this.byName.get(name) ?? (this.overflowed ? null : []);
  }
}
