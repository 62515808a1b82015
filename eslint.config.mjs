// ESLint for the TypeScript sources (typescript-eslint's recommended rules) and the JavaScript of tests, scripts and
// benchmarks (ESLint's recommended rules, Node globals). `npm run lint`; CI runs it with the tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'prebuilds/**', '.gpu/**', 'test/types/**', '.stryker-tmp/**', 'reports/**'] }, // .stryker-tmp: a mutation run's sandbox copy
  {
    files: ['lib/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs' },
  },
  // Tests match terminal output, escape codes included.
  { files: ['test/**/*.js'], rules: { 'no-control-regex': 'off' } },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
);
