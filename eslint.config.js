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
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  // Plain JS cannot declare the types this rule asks for; the module is typed by its JSDoc.
  { files: ['eslint.architecture.js', 'eslint-rules/*.js'], rules: { '@typescript-eslint/explicit-module-boundary-types': 'off' } },
  ...architectureConfig({ basePath: import.meta.dirname }),
);
