// ESLint flat config: typescript-eslint's recommended rules for TypeScript and plain JS, eslint-plugin-svelte's for
// the renderer's components, a few type-aware rules for promises, and rules that catch real bugs. Layout is
// Prettier's job (prettier.config.js); the import floors of main/ are scripts/check-layers.mjs's.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

export default defineConfig(
  globalIgnores([
    'dist/',
    'dist-scripts/',
    'out/',
    'native-models/',
    'resources/',
    'test-results/',
    'playwright-report/',
    'tests/artifacts/',
    'artifacts/',
    '.tmp/',
  ]),
  js.configs.recommended,
  ts.configs.recommended,
  svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused code is almost always a leftover; a leading underscore marks a binding that is unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // `==` only in the deliberate `x == null` (null or undefined).
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // The CLI, scripts and benchmarks talk through the console.
      'no-console': 'off',
      // Every control character in a regular expression here is deliberate: validators that reject them in names,
      // DICOM values and paths.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.ts', '**/*.svelte'],
    rules: {
      // tsc and svelte-check resolve names with the real types (DOM and Node globals such as BlobPart included);
      // ESLint's scope-only check would only add false alarms.
      'no-undef': 'off',
    },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.svelte'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // Type-aware promise rules: a promise nobody awaits or catches loses its rejection (Node prints a warning, or
    // exits with --unhandled-rejections=strict). The TypeScript files use their own tsconfig through the project service.
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['renderer/vite.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Async event listeners (worker messages, HTTP requests, process signals) are the house pattern and each
      // catches its own errors; only passing a promise where a condition or a spread is expected is flagged.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
);
