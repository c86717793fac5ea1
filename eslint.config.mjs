import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'

/**
 * A deferred transaction that reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT when
 * another process committed in between (busy_timeout does not help), so every one begins immediate.
 */
const immediateTransactions = {
  selector: "CallExpression[callee.type='CallExpression'][callee.callee.property.name='transaction']",
  message: 'begin writing transactions immediate: db.transaction(fn).immediate(), not db.transaction(fn)()',
}

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'scratch/**',
      'node_modules/**',
      'test-results/**',
      'playwright-report/**',
      'resources/**',
    ],
  },
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
  // Electron's hidden trainer window is a Chromium host for the trainer, not UI: it runs the pure
  // training code (src-main/train, no store, no Node) in a worker, on Chromium's WebGPU or WebGL.
  {
    files: ['src-renderer/gpu-trainer/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/src-main/(?!train/remote/\\w+$|train/backends/browser$)',
              message: 'the trainer window runs only the remote trainer (src-main/train/remote)',
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
  // Layering inside src-main: store/ ← media/, train/ ← api/ ← hosts. No arrow runs the other way.
  {
    files: ['src-main/store/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/api/**',
                '**/train/**',
                '**/media/**',
                '**/host/**',
                '**/project/**',
                '!**/src-shared/**',
              ],
              message: 'store/ imports only src-shared (and its own files)',
            },
            {
              group: ['electron', 'electron/*', 'sharp', '@tensorflow/*'],
              message: 'store/ imports only src-shared',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src-main/train/**/*.ts', 'src-main/media/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/api/**', '!**/src-shared/**'], message: 'train/ and media/ never import api/' },
            {
              group: ['electron', 'electron/*'],
              message: 'only src-main/index.ts and preload.ts import Electron',
            },
          ],
        },
      ],
    },
  },
  // What trains is pure tfjs plus shared types, so it can run in a browser worker on WebGPU: the
  // loop, its kernels and augmentation, and each task's own files. A task's Node side (its feed
  // from the store, its run glue) lives in files named *.node.ts.
  {
    files: [
      'src-main/train/trainer.ts',
      'src-main/train/checkpoint.ts',
      'src-main/train/augment/**/*.ts',
      'src-main/train/backends/**/*.ts',
      'src-main/train/tasks/**/*.ts',
    ],
    ignores: [
      'src-main/train/backends/**/*.node.ts',
      'src-main/train/tasks/**/*.node.ts',
      'src-main/train/tasks/**/index.ts',
      'src-main/train/tasks/types.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'sharp', 'better-sqlite3'],
              message: 'training code is pure tfjs: put Node work in a *.node.ts file or in train/host/',
            },
            {
              group: ['**/store/**', '**/host/**', '**/media/**', '**/api/**', '!**/src-shared/**'],
              message: 'training code is pure tfjs: it reads no store and knows no host',
            },
            {
              group: ['electron', 'electron/*', 'react', 'react-dom', 'konva'],
              message: 'no Electron or DOM here',
            },
          ],
        },
      ],
    },
  },
  // Nothing outside store/ prepares SQL.
  {
    files: ['src-main/**/*.ts'],
    ignores: ['src-main/store/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(prepare|exec|pragma)$/][arguments.0.type=/^(Literal|TemplateLiteral)$/]',
          message: 'SQL lives in src-main/store/repos/: call a repo function instead',
        },
        immediateTransactions,
      ],
    },
  },
  {
    files: ['src-main/store/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', immediateTransactions] },
  },
  // The window's security policies are plain functions: no Electron, no services.
  {
    files: ['src-main/window/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/api/**',
                '**/store/**',
                '**/train/**',
                '**/media/**',
                '**/host/**',
                '**/project/**',
                '!**/src-shared/**',
              ],
              message: 'window/ is policy: it imports only src-shared and node:path',
            },
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
