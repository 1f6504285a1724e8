import { defineConfig } from 'vitest/config';

// The results explorer in real Chromium (`npx nx run experiments:explorer-test`): needs Debian's chromium
// (/usr/bin/chromium, or CLIP_SENET_CHROMIUM) driven by playwright-core; see src/explorer/explorer.browser-test.ts.
// @clip-senet/* resolve to the packages' TypeScript sources (the source export condition where a package has one).
const conditions = ['clip-senet-source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: { include: ['src/**/*.browser-test.ts'], testTimeout: 300_000, hookTimeout: 300_000 },
});
