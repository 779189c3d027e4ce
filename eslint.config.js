import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules that must never reach the workflow bundle: I/O, native addons, Node built-ins. */
const workflowBannedImports = {
  patterns: [
    {
      group: [
        'node:*',
        'fs',
        'path',
        'http',
        'https',
        'net',
        'crypto',
        'child_process',
        'os',
        'worker_threads',
      ],
      message: 'Workflows are deterministic: no Node built-ins. Do the I/O in an activity.',
    },
    {
      group: ['got', 'drizzle-orm', 'drizzle-orm/*', 'better-sqlite3', 'pino', 'yaml'],
      message: 'Workflows must not do I/O: call an activity instead.',
    },
    {
      group: [
        '**/src/store/**',
        '**/src/http/**',
        '**/src/config/**',
        '**/src/sources/**',
        '**/src/sinks/**',
        '**/src/enrichers/**',
        '**/activities/**',
      ],
      allowTypeImports: true,
      message: 'Workflows reach activities through proxyActivities and import their types only.',
    },
    {
      group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'],
      message: 'Only @temporalio/workflow and @temporalio/common belong in workflow code.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', 'data/', 'drizzle/', 'test/histories/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.mjs', 'bin/*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Activities are async by contract even when their store work is synchronous.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The workflow interceptor and its header name are bundled into workflow code as well.
    files: [
      'workflows/**/*.ts',
      'src/shared/**/*.ts',
      'src/observability/workflow-log-context.ts',
      'src/observability/cycle-header.ts',
    ],
    rules: { 'no-restricted-imports': ['error', workflowBannedImports] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
