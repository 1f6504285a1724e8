import { defineConfig } from 'vitest/config';

// The Slurm array-job test (`npx nx run experiments:slurm-test`): needs Slurm and munge (see src/slurm/cluster.ts).
export default defineConfig({ test: { include: ['src/**/*.slurm-test.ts'], testTimeout: 600_000, hookTimeout: 180_000 } });
