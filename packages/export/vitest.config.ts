import { defineConfig } from 'vitest/config';

// @clip-senet/* resolve to their TypeScript sources (the `clip-senet-source` condition of their exports), never to
// a build in dist/: tests need no build step and never run stale output.
const conditions = ['clip-senet-source', 'module', 'node', 'development|production'];

export default defineConfig({ resolve: { conditions }, ssr: { resolve: { conditions } }, test: { include: ['src/**/*.test.ts'], testTimeout: 120000 } });
