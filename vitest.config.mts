import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src-*/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Test files run side by side: a training in each on one thread, not a thread per core each
    // (threads waiting on a busy core slow down; test/unit/wasm-threads.test.ts asks for 2 itself).
    env: { SMALLSET_THREADS: '1' },
  },
})
