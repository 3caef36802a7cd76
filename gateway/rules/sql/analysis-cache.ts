// Analyses by statement text, shared by all sessions: applications and prepared statements repeat
// the same texts, and an analysis does not depend on the rules. Bounded in count and bytes (least
// recently used out first); texts over `maxKeyBytes` are not cached.
import { type QueryAnalysis, analysisBytes } from './facts.js';

export class AnalysisCache {
  private readonly map = new Map<string, { a: QueryAnalysis; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxEntries = 4096, private readonly maxBytes = 8 * 1024 * 1024, private readonly maxKeyBytes = 64 * 1024) {}

  get(key: string): QueryAnalysis | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.a;
  }

  set(key: string, a: QueryAnalysis): void {
    if (key.length > this.maxKeyBytes) return;
    const bytes = key.length * 2 + analysisBytes(a);
    const old = this.map.get(key);
    if (old) { this.bytes -= old.bytes; this.map.delete(key); }
    this.map.set(key, { a, bytes });
    this.bytes += bytes;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const first = this.map.keys().next();
      if (first.done) break;
      this.bytes -= this.map.get(first.value)!.bytes;
      this.map.delete(first.value);
    }
  }

  get size(): number {
    return this.map.size;
  }
}
