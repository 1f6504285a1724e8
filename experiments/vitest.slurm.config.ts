import { defineConfig } from 'vitest/config';

// @clip-senet/* resolve to their TypeScript sources (the `clip-senet-source` condition of their exports), never to
// a build in dist/: tests need no build step and never run stale output.
const conditions = ['clip-senet-source', 'module', 'node', 'development|production'];

// The Slurm array-job test (`npx nx run experiments:slurm-test`): needs Slurm and munge (see src/slurm/cluster.ts).
export default defineConfig({ resolve: { conditions }, ssr: { resolve: { conditions } }, test: { include: ['src/**/*.slurm-test.ts'], testTimeout: 600_000, hookTimeout: 180_000 } });
