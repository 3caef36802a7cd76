// Lint rules that catch what the type checker does not: floating promises on socket paths,
// `any` leaking across module boundaries, unused code, and the import arrows of DESIGN.md section 5
// (eslint.architecture.js).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { architectureConfig } from './eslint.architecture.js';

export default tseslint.config(
  // test/fixtures/ holds deliberately wrong trees for the architecture-lint test, which lints them
  // with its own configuration.
  { ignores: ['dist/**', 'node_modules/**', 'web-player/vendor/**', 'coverage/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.mjs', 'eslint-rules/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // The API's types are shared with the browser bundle: that module stays types only (no imports,
  // no runtime code), and the browser takes nothing but types from the server's folders.
  {
    files: ['gateway/api-types.ts'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: 'Program > :not(TSInterfaceDeclaration, TSTypeAliasDeclaration, ExportNamedDeclaration)', message: 'api-types.ts holds types only: no imports, no runtime code' },
        { selector: 'ExportNamedDeclaration > :not(TSInterfaceDeclaration, TSTypeAliasDeclaration)', message: 'api-types.ts exports interfaces and type aliases only' }],
    },
  },
  {
    files: ['web-player/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{
        regex: '^(\\.\\./)+(gateway|recorder|certs)/', allowTypeImports: true,
        message: 'the browser bundle takes only types from the server side (import type from gateway/api-types.ts)',
      }] }],
    },
  },
  // A page starts timers, listeners, sockets and fetches only through its PageLifecycle, so that
  // leaving the page stops them (web-player/src/lifecycle.ts).
  {
    files: ['web-player/src/pages/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', ...[
        "CallExpression[callee.name=/^(setTimeout|setInterval|requestAnimationFrame|fetch)$/]",
        "CallExpression[callee.object.name='window'][callee.property.name=/^(setTimeout|setInterval|requestAnimationFrame|fetch)$/]",
        "CallExpression[callee.property.name='addEventListener']",
        "NewExpression[callee.name='WebSocket']",
        "AssignmentExpression[left.object.name=/^(window|document)$/][left.property.name=/^on/]",
      ].map((selector) => ({ selector, message: 'pages go through their PageLifecycle (page.setTimeout, page.listen, page.socket, apiFor(page))' }))],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  // Plain JS cannot declare the types this rule asks for; the module is typed by its JSDoc.
  { files: ['eslint.architecture.js', 'eslint-rules/*.js'], rules: { '@typescript-eslint/explicit-module-boundary-types': 'off' } },
  ...architectureConfig({ basePath: import.meta.dirname }),
);
