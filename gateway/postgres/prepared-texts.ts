// What a Bind or Execute will run, as the gate last saw it: the text of each prepared statement
// (Parse) and of the statement behind each portal (Bind). Rules read a statement when it is
// prepared, but a rule added afterwards must still stop it: a named statement prepared before the
// rule (or a portal bound before it, re-executed with a row limit) would otherwise run untouched.
// A name can hold more than one candidate text: a Parse of a name already in use fails at the server
// (the old text stays) while a DEALLOCATE in SQL frees the name unseen here, so every text parsed
// under a name since its Close is kept and each is checked. The unnamed statement and portal are
// replaced by each Parse / Bind (the server drops the old one first). Bounded: once a name had to
// be dropped (too many names, or too many texts under one), binding any name not held is refused,
// since the gateway could no longer say what it runs.

const MAX_NAMES = 10_000;
const MAX_TEXTS_PER_NAME = 16;

export class PreparedTexts {
  private readonly statements = new Map<string, string[]>();
  private readonly portals = new Map<string, string[]>();
  private overflowed = false;

  parsed(name: string, text: string): void {
    this.put(this.statements, name, [text]);
  }

  bound(portal: string, statement: string): void {
    this.put(this.portals, portal, this.statement(statement) ?? []);
  }

  closed(kind: 'S' | 'P', name: string): void {
    (kind === 'S' ? this.statements : this.portals).delete(name);
  }

  /** The candidate texts of a statement; null when it is not held after a name was dropped. */
  statement(name: string): readonly string[] | null {
    return this.statements.get(name) ?? (this.overflowed ? null : []);
  }

  portal(name: string): readonly string[] | null {
    return this.portals.get(name) ?? (this.overflowed ? null : []);
  }

  private put(map: Map<string, string[]>, name: string, texts: readonly string[]): void {
    const have = name === '' ? undefined : map.get(name);
    if (have) {
      for (const t of texts) if (!have.includes(t)) have.push(t);
      if (have.length > MAX_TEXTS_PER_NAME) { map.delete(name); this.overflowed = true; }
      return;
    }
    map.set(name, [...texts]);
    if (map.size > MAX_NAMES) {
      map.delete(map.keys().next().value as string);
      this.overflowed = true;
    }
  }
}
