// SQL rules on parse trees. For one client message: a prefilter built from the rules (sql/prefilter.ts)
// lets most statements pass unparsed; the rest are analysed once per text (sql/analysis-cache.ts) by
// the dialect's analyser (PostgreSQL: libpg-query, sql/pg-analyze.ts; MySQL/MariaDB: our lexer and
// node-sql-parser, sql/my-analyze.ts) into facts per statement: classes, functions called, normalized
// text. A class rule hits when any statement is in the class (function:NAME: calls NAME); a --match
// rule when its regex finds a statement's normalized text or the raw text. A text that cannot be
// analysed (or is over the parse cap) is an `unparsable` hit for every rule it did not match; the
// rule gate applies each rule's --unparsable. Bind and Execute (and MySQL COM_STMT_EXECUTE) carry
// the text of the statement they run, read again for deny rules only (a rule added since it was
// prepared must stop it; flag rules flagged it when prepared). A PostgreSQL FunctionCall names its function by OID:
// built-ins are named from PostgreSQL's catalog (postgres/function-names.ts); a user's function
// cannot be named, which is `unparsable` for function: rules.
import { builtinFunctionName } from '../postgres/function-names.js';
import type { RuleRecord } from '../store/records.js';
import type { KindMatcher, RuleHit } from './matcher.js';
import { functionOfClass, patternSource } from './rule-spec.js';
import { AnalysisCache } from './sql/analysis-cache.js';
import { type QueryAnalysis, newFacts } from './sql/facts.js';
import { analyzeMy, normalizeMy } from './sql/my-analyze.js';
import { analyzePg, loadPgParser } from './sql/pg-analyze.js';
import { normalizePg } from './sql/pg-normalize.js';
import type { PreparedSql } from './sql/prepared-sql.js';
import { prefilterFor } from './sql/prefilter.js';

type Protocol = 'postgres' | 'mysql';

export interface SqlParseLimits {
  /** A statement text longer than this (UTF-16 units ~ bytes) is unparsable without being parsed. */
  maxParseBytes: number;
}

/**
 * Measured on this machine (2 cores, shared): libpg-query on 250 KiB of INSERT VALUES takes 90 ms
 * warm (up to 470 ms cold or under load) plus ~30 ms to walk the tree; 1 MiB 180-400 ms;
 * pathological nesting fails fast (`SELECT ((((...` 10k deep: 5 ms, "memory exhausted"; `1+1+...`
 * 20k: stack overflow in ~60 ms, caught). The MySQL path (lexer; node-sql-parser only up to 4 KiB)
 * took 120 ms on 250 KiB. 128 KiB keeps the warm worst case near 60 ms.
 */
const limits: SqlParseLimits = { maxParseBytes: 128 * 1024 };
const caches: Record<Protocol, AnalysisCache> = { postgres: new AnalysisCache(), mysql: new AnalysisCache() };

/** Loads the parsers (libpg-query is WASM, loaded once, asynchronously) before the first session. */
export async function loadSqlParsers(opts: Partial<SqlParseLimits> = {}): Promise<void> {
  if (opts.maxParseBytes !== undefined) limits.maxParseBytes = opts.maxParseBytes;
  await loadPgParser();
}

interface CompiledRule {
  rule: RuleRecord;
  fn: string | null;
  re: RegExp | null;
}

/**
 * `memory`: the session's SQL-level prepared statements (kept across rule changes by the rule gate);
 * without it an EXECUTE is read on its own.
 */
export function sqlMatcher(rules: readonly RuleRecord[], protocol: Protocol, memory?: PreparedSql): KindMatcher {
  const compiled: CompiledRule[] = rules.map((r) => ({
    rule: r,
    fn: r.class ? functionOfClass(r.class) : null,
    re: r.match ? new RegExp(patternSource(r.match, 'sql').source, 'iu') : null,
  }));
  const prefilter = prefilterFor(rules, protocol);
  const matchOnly = compiled.filter((c) => c.re !== null);
  const denying = compiled.filter((c) => c.rule.action === 'deny');
  const denyingMatch = denying.filter((c) => c.re !== null);
  // Runs of a prepared statement repeat one text (often thousands of times): its hits are kept for
  // this rule set (a new matcher is built when the rules change), so no run parses again, even a
  // text too long for the shared analysis cache.
  const runHits = new Map<string, RuleHit[]>();
  const textHits = (text: string, all: readonly CompiledRule[], onlyMatch: readonly CompiledRule[]): RuleHit[] => {
    if (prefilter.test(text)) return hitsOf(all, text, analysis(text, protocol));
    // No word any class rule needs: only --match rules can hit, on the normalized text (no parse).
    return onlyMatch.length === 0 ? [] : hitsOf(onlyMatch, text, normalizedOnly(text, protocol));
  };
  const runOf = (text: string): RuleHit[] => {
    let h = runHits.get(text);
    if (!h) {
      h = textHits(text, denying, denyingMatch);
      if (runHits.size >= 1024) runHits.clear();
      runHits.set(text, h);
    }
    return h;
  };
  /** PREPARE texts remembered; each EXECUTE read again as the PREPARE it runs (deny rules only, as for Bind). */
  const withPrepared = (text: string, hits: RuleHit[], mem: PreparedSql): RuleHit[] => {
    const prep = /prepare/i.test(text);
    if (!prep && (mem.empty || !/execute/i.test(text))) return hits;
    const a = analysis(text, protocol);
    for (const p of a.prepares ?? []) mem.prepared(p.name, p.text);
    if (denying.length === 0 || !a.executes) return hits;
    const extra: RuleHit[] = [];
    for (const name of a.executes) {
      const texts = mem.texts(name);
      if (texts === null) {
        for (const c of denying) extra.push({ rule: c.rule, why: 'unparsable', what: `EXECUTE ${name}: a prepared statement the gateway no longer holds` });
      } else {
        for (const t of texts) extra.push(...runOf(t));
      }
    }
    return extra.length === 0 ? hits : [...hits, ...extra];
  };
  return {
    hits: (cmd) => {
      if (cmd.kind !== 'sql') return [];
      switch (cmd.path) {
        case 'bind': case 'execute': {
          // The text of a statement prepared earlier (PostgreSQL Bind/Execute, MySQL
          // COM_STMT_EXECUTE), read again under the rules of now: a deny rule added since it was
          // prepared stops it. Flag rules flagged it when it was prepared; each run is not a new flag.
          if (denying.length === 0 || cmd.text === '') return [];
          return runOf(cmd.text);
        }
        case 'function-call':
          // A built-in's call is read as the SQL it amounts to (its arguments may be SQL text).
          if (cmd.functionOid === undefined || builtinFunctionName(cmd.functionOid) === undefined) return unnamedCallHits(compiled, cmd.functionOid);
          break;
        default: break;
      }
      const hits = textHits(cmd.text, compiled, matchOnly);
      return memory ? withPrepared(cmd.text, hits, memory) : hits;
    },
  };
}

/** The analysis of a text (cached); over the cap it is unparsable unread. */
export function analysis(text: string, protocol: Protocol): QueryAnalysis {
  if (text.length > limits.maxParseBytes) {
    return { statements: [], unparsable: `statement of ${text.length} characters is over the parse limit of ${limits.maxParseBytes}` };
  }
  const cache = caches[protocol];
  const have = cache.get(text);
  if (have) return have;
  let a: QueryAnalysis;
  try {
    a = protocol === 'postgres' ? analyzePg(text) : analyzeMy(text);
  } catch (e) {
    // A parser that throws where it should report (a stack overflow on deep nesting) is unparsable, never a crash.
    a = { statements: [], unparsable: `analysis failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  cache.set(text, a);
  return a;
}

/** For --match rules alone: the text normalized (comments out, whitespace collapsed); unparsable only over the cap. */
function normalizedOnly(text: string, protocol: Protocol): QueryAnalysis {
  // Over the cap the raw text is still searched (hitsOf), but what comments could hide is not.
  if (text.length > limits.maxParseBytes) return { statements: [], unparsable: `statement of ${text.length} characters is over the parse limit of ${limits.maxParseBytes}` };
  const norm = protocol === 'postgres' ? normalizePg(text) : normalizeMy(text);
  return { statements: [newFacts(norm)], unparsable: null };
}

function hitsOf(rules: readonly CompiledRule[], raw: string, a: QueryAnalysis): RuleHit[] {
  const out: RuleHit[] = [];
  for (const c of rules) {
    const what = matched(c, raw, a);
    if (what !== null) out.push({ rule: c.rule, why: 'matched', what: short(what) });
    else if (a.unparsable !== null) out.push({ rule: c.rule, why: 'unparsable', what: short(a.unparsable) });
  }
  return out;
}

/** The statement text the rule matched, or null. */
function matched(c: CompiledRule, raw: string, a: QueryAnalysis): string | null {
  if (c.re) {
    for (const s of a.statements) if (c.re.test(s.text)) return s.text;
    return c.re.test(raw) ? raw : null;
  }
  const cls = c.rule.class;
  for (const s of a.statements) {
    if (c.fn !== null ? s.functions.has(c.fn) : s.classes.has(cls as never)) return s.text;
  }
  return null;
}

/** A FunctionCall of a function the gateway cannot name (a user's, OID >= 16384): unparsable for function: rules. */
function unnamedCallHits(rules: readonly CompiledRule[], oid: number | undefined): RuleHit[] {
  const out: RuleHit[] = [];
  for (const c of rules) {
    if (c.fn !== null) out.push({ rule: c.rule, why: 'unparsable', what: `FunctionCall of oid ${oid ?? '?'}: a function the gateway cannot name` });
  }
  return out;
}

function short(s: string): string {
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}
