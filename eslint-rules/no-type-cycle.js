// ESLint rule `portcullis/no-type-cycle`: reports an import that closes a cycle back to the file
// when at least one edge of that cycle is type-only (`import type`, `export type ... from`, or an
// inline `import('x').T`). import-x/no-cycle deliberately follows runtime imports only, so without
// this rule a cycle such as "listeners import `type Listener` from the CLI that imports them"
// would pass. Pure runtime cycles are left to import-x/no-cycle (one report per cycle, not two).
// Only relative imports are followed (packages cannot import us). Other files are parsed from disk
// once per lint run and cached by modification time.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import tseslint from 'typescript-eslint';

/** file -> { mtimeMs, edges: [{ to, typeOnly }] } */
const graphCache = new Map();

function resolveRelative(fromFile, spec) {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = base.endsWith('.js') ? [base.slice(0, -3) + '.ts', base] : [base, base + '.ts', path.join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

/** The module specifiers a program imports, each with whether the import is for types only. */
function importsOf(program) {
  const found = [];
  const visit = (node) => {
    if (!node || typeof node.type !== 'string') return;
    switch (node.type) {
      case 'ImportDeclaration':
        found.push({
          spec: node.source.value, node: node.source,
          typeOnly: node.importKind === 'type' || (node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type')),
        });
        return;
      case 'ExportNamedDeclaration':
      case 'ExportAllDeclaration':
        if (node.source) found.push({ spec: node.source.value, node: node.source, typeOnly: node.exportKind === 'type' });
        break;
      case 'TSImportType':
        if (node.argument?.type === 'TSLiteralType' && typeof node.argument.literal.value === 'string') {
          found.push({ spec: node.argument.literal.value, node, typeOnly: true });
        }
        break;
      case 'ImportExpression':
        if (node.source.type === 'Literal' && typeof node.source.value === 'string') found.push({ spec: node.source.value, node, typeOnly: false });
        break;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'parent' || key === 'loc' || key === 'range') continue;
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && typeof value === 'object') visit(value);
    }
  };
  visit(program);
  return found;
}

function edgesOf(file) {
  const mtimeMs = statSync(file).mtimeMs;
  const cached = graphCache.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.edges;
  let edges = [];
  try {
    const { ast } = tseslint.parser.parseForESLint(readFileSync(file, 'utf8'), { sourceType: 'module', ecmaVersion: 'latest', range: false, loc: false });
    edges = importsOf(ast).map((i) => ({ to: resolveRelative(file, i.spec), typeOnly: i.typeOnly })).filter((e) => e.to !== null);
  } catch {
    // A file that does not parse is reported by the parser when it is linted itself.
  }
  graphCache.set(file, { mtimeMs, edges });
  return edges;
}

/** Whether some path from `start` back to `target` uses a type-only edge (given the first edge's kind). */
function typeCycleBack(start, firstTypeOnly, target) {
  const seen = new Set();
  const queue = [[start, firstTypeOnly]];
  while (queue.length > 0) {
    const [file, sawType] = queue.shift();
    const key = `${file}\0${sawType}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const e of edgesOf(file)) {
      const typed = sawType || e.typeOnly;
      if (e.to === target) {
        if (typed) return true;
        continue;
      }
      queue.push([e.to, typed]);
    }
  }
  return false;
}

/** @type {import('eslint').Rule.RuleModule} */
export const noTypeCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import cycles that runtime-only cycle checks miss because an edge is type-only.' },
    schema: [],
    messages: { cycle: 'Import cycle through a type-only import: "{{spec}}" leads back to this file. Move the shared type to a module both can import.' },
  },
  create(context) {
    const file = context.physicalFilename;
    return {
      'Program:exit'(program) {
        for (const i of importsOf(program)) {
          const to = resolveRelative(file, i.spec);
          if (to === null || to === file) continue;
          if (typeCycleBack(to, i.typeOnly, file)) context.report({ node: i.node, messageId: 'cycle', data: { spec: i.spec } });
        }
      },
    };
  },
};
