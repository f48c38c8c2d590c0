import { defineConfig } from 'vitest/config';

// Unit tests live beside the code (`*.test.ts`); cross-module tests live in test/.
export default defineConfig({
  test: {
    include: ['{cli,src,ingest,serve,finetune,test}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
