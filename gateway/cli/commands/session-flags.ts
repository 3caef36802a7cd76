// A session's risk flags as one table cell, for `session list` and `session show` (not --json).
/** A table cell per session: "mass-export+40,off-hours+10". */
export function flagsInWords(row: Record<string, unknown>): Record<string, unknown> {
  const flags = Array.isArray(row.flags) ? (row.flags as Array<{ kind?: unknown; weight?: unknown }>) : [];
  return { ...row, flags: flags.map((f) => `${String(f.kind)}+${Number(f.weight)}`) };
}
