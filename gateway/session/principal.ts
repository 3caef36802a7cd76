// "USER+TARGET" and "USER+TARGET+LEVEL" in every protocol's user name (DESIGN.md sections 2, 3b).
// `+` is never part of a user, target or level name, so the pluses split; a third one, or an empty
// part, is malformed. The level, when given, picks the user's grant at that level; without it the
// decider uses the least privileged level the user holds a grant at.

export interface Principal {
  user: string;
  target: string | null;
  /** The level asked for (USER+TARGET+LEVEL), or null. */
  level: string | null;
}

const MAX = 200;

export function parsePrincipal(name: string): Principal | null {
  if (name.length === 0 || name.length > MAX) return null;
  const parts = name.split('+');
  if (parts.length > 3 || parts.some((p) => p.length === 0)) return null;
  return { user: parts[0]!, target: parts[1] ?? null, level: parts[2] ?? null };
}
