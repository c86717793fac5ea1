import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'resources/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Benchmarks drive Chromium: the code inside page.evaluate() runs in the page.
  {
    files: ['scripts/bench/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['bin/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src-renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  // Where code may run. src-shared is pure TypeScript: no Electron, node:* or DOM-only modules.
  {
    files: ['src-shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process'],
              message: 'src-shared must not use Node modules',
            },
            { group: ['electron', 'electron/*'], message: 'src-shared must not use Electron' },
            {
              group: ['react', 'react-dom', 'konva', 'react-konva'],
              message: 'src-shared must not use DOM libraries',
            },
            {
              group: ['**/src-main/**', '**/src-renderer/**'],
              message: 'src-shared depends on nothing else in the app',
            },
          ],
        },
      ],
    },
  },
  // The renderer talks to the backend only through the typed API.
  {
    files: ['src-renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src-main/**'],
              message: 'the renderer reaches the backend only through the API client',
            },
            { group: ['better-sqlite3', 'sharp', 'electron', 'node:*'], message: 'not in the renderer' },
          ],
        },
      ],
    },
  },
  // Only the Electron entry points may import Electron; handlers stay testable in plain Node.
  {
    files: ['src-main/**/*.ts'],
    ignores: ['src-main/index.ts', 'src-main/preload.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['electron', 'electron/*'],
              message: 'only src-main/index.ts and preload.ts import Electron',
            },
          ],
        },
      ],
    },
  },
)
