// Which sessions found live in the store a starting node may treat as its own orphans (crash
// recovery closes them and touches their recording files). With SQLite the store is this node's
// alone, so every live session in it is an orphan of its last run, whatever node name it was
// started under (a renamed host must not leave sessions open forever). On a shared store only the
// sessions recorded under this node's name: the others are running on their nodes, or are the
// lost-node sweeper's to end, and their recording files are their node's to write.
import type { SessionRecord } from '../store/records.js';

export function ownsAtStart(kind: 'sqlite' | 'postgres', node: string): (s: SessionRecord) => boolean {
  if (kind === 'sqlite') return () => true;
  return (s) => s.node === node;
}
