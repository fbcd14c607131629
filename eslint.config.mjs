// Lint rules borrowed from Temporal's samples: no floating promises anywhere, and no Node
// built-ins in workflow code (workflows run in a deterministic sandbox without I/O).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', '.rtap/**', 'bin/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto'], message: 'Workflow code must be deterministic: no Node built-ins.' },
          { group: ['@aws-sdk/*', 'kafkajs', '@duckdb/*'], message: 'Workflow code does no I/O; call an activity.' },
        ],
      }],
    },
  },
);
