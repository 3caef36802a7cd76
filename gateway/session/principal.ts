// "USER+TARGET" in every protocol's user name. `+` is never part of a user or target name, so the
// first `+` splits; a second one is malformed.

export interface Principal {
  user: string;
  target: string | null;
}

const MAX = 200;

export function parsePrincipal(name: string): Principal | null {
  if (name.length === 0 || name.length > MAX) return null;
  const parts = name.split('+');
  if (parts.length > 2 || parts.some((p) => p.length === 0)) return null;
  return { user: parts[0]!, target: parts[1] ?? null };
}
