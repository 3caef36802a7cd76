// The import arrows of DESIGN.md section 5, as ESLint rules (eslint-plugin-import-x), so a wrong
// arrow fails `npm run lint` and therefore the build. Used by eslint.config.js for the real tree and
// by test/unit/architecture-lint.test.ts (with a fixture tree as basePath) to show each arrow is
// enforced. It checks only where imports point; what a module does is the type checker's business.
//
// Arrows:
//   - protocol folders (ssh/, postgres/, mysql/, web-terminal/) never import vault/, audit/ or store/;
//   - recorder/ and certs/ never import gateway/;
//   - nothing imports gateway/cli except cli itself and bin/;
//   - the composition level (gateway/compose) is imported only by cli/ (so no protocol folder can
//     reach the protocol registry), and the services root (app.ts) builds no front end;
//   - no import cycles: import-x/no-cycle follows runtime imports; eslint-rules/no-type-cycle.js
//     catches the cycles it skips because an edge is `import type`.
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import { noTypeCycle } from './eslint-rules/no-type-cycle.js';

const PROTOCOL_FOLDERS = ['ssh', 'postgres', 'mysql', 'web-terminal'];

/** Every file but gateway/cli/ and bin/ (globs, so a new top-level folder is covered too). */
const NOT_CLI = ['./!(gateway|bin|node_modules|dist)/**', './gateway/!(cli)/**', './gateway/*', './*'];

/** The zones of import-x/no-restricted-paths. */
function zones() {
  const protocolTargets = PROTOCOL_FOLDERS.map((p) => `./gateway/${p}`);
  const forbidden = (dir, except = []) => {
    // `except` is relative to the zone's `from` folder.
    return {
      target: protocolTargets,
      from: `./gateway/${dir}`,
      except,
      message: `Protocol folders translate and decide nothing: they never import gateway/${dir} (DESIGN.md section 5). Take what you need through the session pipeline.`,
    };
  };
  return [
    forbidden('vault'),
    forbidden('audit'),
    forbidden('store'),
    {
      target: ['./recorder', './certs'],
      from: './gateway',
      message: 'recorder/ and certs/ are libraries the gateway uses; they never import gateway/ (DESIGN.md section 5).',
    },
    {
      target: NOT_CLI,
      from: './gateway/cli',
      message: 'Nothing imports gateway/cli (DESIGN.md section 5): move what you need to a neutral module (e.g. gateway/net, gateway/util).',
    },
    {
      target: ['./gateway/!(cli|compose)/**', './gateway/*', './recorder/**', './certs/**'],
      from: './gateway/compose',
      message: 'The composition level (gateway/compose) is imported only by the CLI; it is what wires the rest together.',
    },
    {
      target: './gateway/app.ts',
      from: ['./gateway/compose', './gateway/http', ...protocolTargets],
      message: 'app.ts is the services root: front ends (listeners, vendor terminals, HTTP) are built by the composition root.',
    },
  ];
}

/**
 * The flat-config objects enforcing the arrows for the tree rooted at `basePath`.
 * @param {{ basePath: string, files?: string[] }} opts
 * @returns {import('eslint').Linter.Config[]}
 */
export function architectureConfig({ basePath, files = ['**/*.ts', '**/*.js', '**/*.mjs'] }) {
  return [
    {
      files,
      plugins: { 'import-x': importX, portcullis: { rules: { 'no-type-cycle': noTypeCycle } } },
      settings: {
        // Sources import './x.js' and the file is x.ts (NodeNext style).
        'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json'], extensionAlias: { '.js': ['.ts', '.js'] } })],
        // no-cycle parses the modules it follows: without these it skips .ts files and sees no cycle.
        'import-x/extensions': ['.ts', '.js', '.mjs'],
        'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      },
      rules: {
        'import-x/no-restricted-paths': ['error', { basePath, zones: zones() }],
        'import-x/no-cycle': ['error', { ignoreExternal: true }],
        'portcullis/no-type-cycle': 'error',
      },
    },
  ];
}
