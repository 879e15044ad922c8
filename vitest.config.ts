import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Most of the suite waits on servers and child processes rather than computing, so a few more
    // workers than cores keep both cores busy.
    maxWorkers: 4,
    // One module graph per worker instead of one per file: importing the sources again for every
    // file was half the suite's CPU time. Tests therefore leave no global state behind (timers,
    // env, listeners), which `--sequence.shuffle` runs check.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
